/**
 * Hot keys from the broker in headless Chromium: on SQLite (a queue table)
 * the page lists the keys with the most messages waiting, most first, with
 * the oldest one's age, and follows the backlog live as it changes; on Redis
 * Streams (no count per key without reading every message) it says the
 * broker cannot tell.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { redisTransport } from "../../src/transports/redis/index.js";
import { REDIS_URL, removeRedisPrefix } from "../support/redis.js";
import { uniqueName } from "../support/wait.js";
import { message } from "../transports/sqlite-support.js";
import { launchBrowser, type TestBrowser } from "./support/browser.js";
import { serveDashboard } from "./support/server.js";

declare const document: { querySelectorAll(s: string): { length: number } };

let browser: TestBrowser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe("dashboard hot keys", () => {
  it("dashboard hot keys (sqlite) - the keys with the most messages waiting in the queue table, most first, with the oldest one's age, updated live", async () => {
    const dir = mkdtempSync(join(tmpdir(), "missive-dashboard-keys-"));
    const transport = sqliteTransport({ path: join(dir, "m.db") });
    await transport.connect();
    const server = await serveDashboard({ transport, pollIntervalMs: 300 });
    try {
      const group = uniqueName("keys-orders");
      const topic = uniqueName("keys-topic");
      await transport.bind(group, [topic]);
      await transport.publish([
        ...Array.from({ length: 6 }, (_, i) => message(topic, `a-${i}`, "customer-a")),
        ...Array.from({ length: 3 }, (_, i) => message(topic, `b-${i}`, "customer-b")),
        message(topic, "plain"),
      ]);
      const page = await browser.newPage();
      await page.goto(server.url);
      const rows = page.locator(`#backlog-table tr[data-group="${group}"]`);
      await rows.nth(1).waitFor({ timeout: 15_000 });
      expect(await rows.locator("td.key").allTextContents()).toEqual(["customer-a", "customer-b"]);
      expect(await rows.locator("td.waiting").allTextContents()).toEqual(["6", "3"]);
      expect(await rows.first().locator("td.oldest").textContent()).toMatch(/^\d+(\.\d+)?\s?(ms|s)$/);
      expect(await page.locator("#backlog-note").getAttribute("data-available")).toBe("true");

      // Live: a burst on another key puts it first.
      await transport.publish(Array.from({ length: 9 }, (_, i) => message(topic, `c-${i}`, "customer-c")));
      await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 3, `#backlog-table tr[data-group="${group}"]`, { timeout: 15_000 });
      expect(await rows.locator("td.key").allTextContents()).toEqual(["customer-c", "customer-a", "customer-b"]);
      await page.close();
    } finally {
      await server.close();
      await transport.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("dashboard hot keys (redis) - the page says the broker cannot tell its backlog per key", async () => {
    const prefix = `dash-keys-${randomUUID().slice(0, 8)}:`;
    const transport = redisTransport({ url: REDIS_URL, prefix });
    await transport.connect();
    const server = await serveDashboard({ transport, pollIntervalMs: 300 });
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      const note = page.locator('#backlog-note[data-available="false"]');
      await note.waitFor({ timeout: 15_000 });
      expect(await note.textContent()).toContain("cannot tell its backlog per key");
      expect(await page.locator("#backlog-table tbody tr").count()).toBe(0);
      await page.close();
    } finally {
      await server.close();
      await transport.close();
      await removeRedisPrefix(REDIS_URL, prefix);
    }
  });
});
