/**
 * Edit-then-replay from the page, over a real SQLite file: the edit is
 * checked against the contract and shown as a diff before anything moves; a
 * refused edit replays nothing; an accepted one is replayed under the same
 * message id and handled.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineMessage, missive, PermanentError, type Bus } from "../../src/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { uniqueName, waitFor } from "../support/wait.js";
import { launchBrowser, type TestBrowser } from "./support/browser.js";
import { serveDashboard } from "./support/server.js";

const Priced = defineMessage({
  type: "dashboard.order.priced",
  schema: z.object({ orderId: z.string(), totalCents: z.number().int() }),
  key: (o) => o.orderId,
});

let dir: string;
let bus: Bus;
let browser: TestBrowser;
const handled: { orderId: string; totalCents: number; id: string }[] = [];
let group: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "missive-dashboard-edit-"));
  bus = await missive({ service: "dashboard-edit", transport: sqliteTransport({ path: join(dir, "m.db") }) });
  group = uniqueName("dashboard-edit");
  await bus.consume(Priced, { group }, (o, ctx) => {
    if (o.totalCents < 0) throw new PermanentError(`order ${o.orderId} has a negative total`);
    handled.push({ ...o, id: ctx.message.id });
  }).ready;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await bus?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("dashboard - edit then replay", () => {
  it("dashboard - edit: a refused edit shows the contract's issue and replays nothing; an accepted one shows its diff, is replayed under the same id and handled", async () => {
    const { id } = await bus.publish(Priced, { orderId: "o-7", totalCents: -5 });
    await waitFor(async () => (await bus.deadLetters().count({ group })) === 1, 10_000, "the dead letter");
    const server = await serveDashboard({ bus, contracts: [Priced] });
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      await page.locator("#dl-table tr.dl-row button.open").click();
      await page.locator("button.edit-open").click();
      expect(JSON.parse(await page.locator("#edit-data").inputValue())).toEqual({ orderId: "o-7", totalCents: -5 });

      await page.fill("#edit-data", JSON.stringify({ orderId: "o-7", totalCents: "lots" }));
      await page.click("#edit-check");
      await page.locator("#edit-result .edit-refused").waitFor();
      expect(await page.locator("#edit-result .issues").textContent()).toMatch(/^totalCents: /);
      expect(await page.locator("#edit-apply").isHidden()).toBe(true);
      expect(await bus.deadLetters().count({ group })).toBe(1);

      await page.fill("#edit-data", JSON.stringify({ orderId: "o-7", totalCents: 500 }));
      await page.click("#edit-check");
      await page.locator("#edit-result .edit-valid").waitFor();
      expect(await page.locator("#edit-result .edit-valid").textContent()).toBe("valid against dashboard.order.priced v1; 1 change:");
      expect(await page.locator("#edit-result .changes").textContent()).toBe("totalCents: -5 → 500");
      expect(await bus.deadLetters().count({ group })).toBe(1);
      await page.click("#edit-apply");
      await page.locator("#edit-result .edit-replayed").waitFor();
      await waitFor(() => handled.length === 1, 10_000, "the edited order handled");
      expect(handled).toEqual([{ orderId: "o-7", totalCents: 500, id }]);
      expect(await bus.deadLetters().count({ group })).toBe(0);
      await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll("#audit-table tbody tr").length === 3);
      expect(await page.locator("#audit-table td.action-name").allTextContents()).toEqual(["edit", "dry-run-edit", "dry-run-edit"]);
      await page.close();
    } finally {
      await server.close();
    }
  });

  it("dashboard - edit: without a contract for the type, an edit is refused (409) and nothing moves", async () => {
    await bus.publish(Priced, { orderId: "o-8", totalCents: -1 });
    await waitFor(async () => (await bus.deadLetters().count({ group })) === 1, 10_000, "the dead letter");
    const [entry] = await bus.deadLetters().list({ group });
    const server = await serveDashboard({ bus });
    try {
      const session = await fetch(`${server.url}api/session`);
      const cookie = session.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
      const { csrf } = (await session.json()) as { csrf: string };
      const r = await fetch(`${server.url}api/edit`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie, "x-missive-csrf": csrf },
        body: JSON.stringify({ entryId: entry!.entryId, data: { orderId: "o-8", totalCents: 1 } }),
      });
      expect(r.status).toBe(409);
      expect(await r.json()).toEqual({ error: expect.stringContaining("no contract for dashboard.order.priced") });
      expect(await bus.deadLetters().count({ group })).toBe(1);
    } finally {
      await server.close();
    }
  });
});
