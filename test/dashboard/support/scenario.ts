/**
 * The dashboard's browser tests, the same on every transport: a real bus on
 * the transport, a consumer that refuses orders while "broken", the
 * dashboard mounted on a node:http server, and headless Chromium driving the
 * page as an operator would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineMessage, PermanentError, type Bus } from "../../../src/index.js";
import { uniqueName, waitFor } from "../../support/wait.js";
import { launchBrowser, type TestBrowser } from "./browser.js";
import { screenshot } from "./screenshot.js";
import { serveDashboard, type TestServer } from "./server.js";

// The page's globals, for the functions page.evaluate() runs in the browser (the project compiles without the DOM lib).
declare const document: { querySelector(s: string): { textContent: string | null; getAttribute(n: string): string | null } | null; querySelectorAll(s: string): { length: number } };
declare const window: Record<string, unknown>;

export const Order = defineMessage({
  type: "dashboard.order.placed",
  schema: z.object({ orderId: z.string(), note: z.string().optional(), link: z.string().optional() }),
  key: (o) => o.orderId,
});

export const Tick = defineMessage({ type: "dashboard.tick", schema: z.object({ n: z.number() }) });

/** What a hostile producer could put in a body: markup, an inline handler, a javascript: link. */
export const HOSTILE_NOTE = `<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>`;
export const HOSTILE_LINK = "javascript:window.__pwned=3";

export interface World {
  readonly bus: Bus;
  /** What the dashboard shows as its source (a broker URL, with its password). */
  readonly source: string;
  cleanup(): Promise<void>;
}

interface Running {
  readonly world: World;
  readonly server: TestServer;
  readonly group: string;
  readonly handled: Set<string>;
  broken: boolean;
}


export function describeConsole(transport: string, open: () => Promise<World>, options: { screenshots?: boolean; skip?: () => boolean } = {}): void {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function start(): Promise<Running> {
    const world = await open();
    const group = uniqueName("dashboard-billing");
    const server = await serveDashboard({ bus: world.bus, source: world.source, replayRate: { perSecond: 50 }, alerts: { deadLetters: 7 } });
    const running: Running = { world, server, group, handled: new Set(), broken: true };
    await world.bus.consume(Order, { group }, (order) => {
      if (running.broken && order.orderId.startsWith("s-")) throw new PermanentError(`sku ${order.orderId.slice(2)} out of stock`);
      if (running.broken) throw new PermanentError(`order ${order.orderId} rejected`);
      running.handled.add(order.orderId);
    }).ready;
    return running;
  }

  async function stop(r: Running): Promise<void> {
    await r.server.close();
    await r.world.cleanup();
  }

  /** Orders o-1..o-4 and the hostile o-42 refused one way, s-1 and s-2 another: two failure groups. */
  async function poison(r: Running): Promise<void> {
    const admin = r.world.bus.deadLetters();
    for (const id of ["o-1", "o-2", "o-3", "o-4"]) await r.world.bus.publish(Order, { orderId: id });
    await r.world.bus.publish(Order, { orderId: "o-42", note: HOSTILE_NOTE, link: HOSTILE_LINK });
    for (const id of ["s-1", "s-2"]) await r.world.bus.publish(Order, { orderId: id });
    await waitFor(async () => (await admin.count({ group: r.group })) === 7, 20_000, "7 dead letters");
  }

  describe(`dashboard on ${transport}`, () => {
    it(`dashboard (${transport}) - a queue's depth changes live after a publish, pushed by the server, no client polling`, async ({ skip }) => {
      if (options.skip?.()) return skip();
      const r = await start();
      try {
        const watch = uniqueName("dashboard-watch");
        await r.world.bus.declare(Tick, watch);
        const page = await browser.newPage();
        const polled: string[] = [];
        page.on("request", (req) => {
          if (/\/api\/queues/.test(req.url())) polled.push(req.url());
        });
        await page.goto(r.server.url);
        const depth = page.locator(`#queues-table tr[data-group="${watch}"] td.depth`);
        await depth.waitFor({ timeout: 10_000 });
        expect(await depth.textContent()).toBe("0");
        for (let n = 0; n < 3; n++) await r.world.bus.publish(Tick, { n });
        await page.waitForFunction((g) => document.querySelector(`#queues-table tr[data-group="${g}"] td.depth`)?.textContent === "3", watch, { timeout: 10_000 });
        await expect(page.locator("#live").textContent()).resolves.toBe("live");
        expect(polled).toEqual([]);
        await page.close();
      } finally {
        await stop(r);
      }
    });

    it(`dashboard (${transport}) - a poison message is found by a payload field and shown whole; its hostile body is inert`, async ({ skip }) => {
      if (options.skip?.()) return skip();
      const r = await start();
      try {
        await poison(r);
        const page = await browser.newPage();
        await page.goto(r.server.url);
        await page.locator("#dl-table tr.dl-row").first().waitFor({ timeout: 10_000 });
        expect(await page.locator("#dl-table tr.dl-row").count()).toBe(7);
        await page.fill('input[name="search"]', "orderId=o-42");
        await page.click('#filters button[type="submit"]');
        await page.waitForFunction(() => document.querySelectorAll("#dl-table tr.dl-row").length === 1, undefined, { timeout: 10_000 });
        expect(await page.locator("#dl-table tr.dl-row td.message").textContent()).toBe("order o-42 rejected");
        // By the message key, which the store cannot filter on: the dashboard does.
        await page.fill('input[name="search"]', "");
        await page.fill('input[name="key"]', "s-2");
        await page.click('#filters button[type="submit"]');
        await page.waitForFunction(() => document.querySelector("#dl-table tr.dl-row td.message")?.textContent === "sku 2 out of stock", undefined, { timeout: 10_000 });
        expect(await page.locator("#dl-table tr.dl-row").count()).toBe(1);
        await page.fill('input[name="key"]', "");
        await page.fill('input[name="search"]', "orderId=o-42");
        await page.click('#filters button[type="submit"]');
        await page.waitForFunction(() => document.querySelector("#dl-table tr.dl-row td.message")?.textContent === "order o-42 rejected", undefined, { timeout: 10_000 });
        await page.click("#dl-table tr.dl-row button.open");
        await page.locator("#detail").waitFor({ state: "visible" });
        const body = await page.locator("#detail-body").textContent();
        expect(body).toContain(HOSTILE_NOTE);
        expect(body).toContain(HOSTILE_LINK);
        expect(await page.locator("#detail-diagnostics").textContent()).toContain("PermanentError");
        expect(await page.locator("#detail-headers").textContent()).toContain("dashboard.order.placed");
        // Shown literally, never run: no script ran, no element was made from the body.
        expect(await page.evaluate(() => window["__pwned"])).toBeUndefined();
        expect(await page.locator("main img, main script, main a").count()).toBe(0);
        if (options.screenshots) {
          await page.locator("#detail-headers").scrollIntoViewIfNeeded();
          await screenshot(await page.screenshot(), "message.png");
        }
        await page.close();
      } finally {
        await stop(r);
      }
    });

    it(`dashboard (${transport}) - a failure group is dry-run, then replayed at a limited rate; its messages are handled, the other group stays, the audit trail shows both`, async ({ skip }) => {
      if (options.skip?.()) return skip();
      const r = await start();
      try {
        await poison(r);
        const page = await browser.newPage();
        await page.goto(r.server.url);
        const rows = page.locator("#groups-table tr.group-row");
        await rows.first().waitFor({ timeout: 10_000 });
        expect(await rows.count()).toBe(2);
        await page.locator("#alerts li").waitFor({ timeout: 10_000 });
        expect(await page.locator("#alerts li").allTextContents()).toEqual(["7 dead letters (alert at 7)"]);
        const rejected = rows.filter({ hasText: "order <id> rejected" });
        expect(await rejected.locator("td.count").textContent()).toBe("5");
        expect(await rejected.locator("td.recent").textContent()).toBe("5 / 5");
        expect(await rows.filter({ hasText: "sku <num> out of stock" }).locator("td.count").textContent()).toBe("2");
        await rejected.locator("button.dry-run-replay").click();
        await page.locator("#dry-run .dry-run-result").waitFor();
        expect(await page.locator("#dry-run .dry-run-result").textContent()).toContain("would replay 5 dead letters");
        expect(await page.locator("#dry-run li").textContent()).toBe(`5 × dashboard.order.placed → back to group ${r.group}`);
        // The dry run moved nothing.
        expect(await r.world.bus.deadLetters().count({ group: r.group })).toBe(7);
        if (options.screenshots) await screenshot(await page.screenshot(), "overview.png");
        r.broken = false;
        // The run's answer held back a second: its progress on the stream arrives first, and the page must not go back to 0 (it did).
        await page.route("**/api/redrive", async (route) => {
          const response = await route.fetch();
          await new Promise((resolve) => setTimeout(resolve, 1000));
          await route.fulfill({ response });
        });
        const answered = page.waitForResponse((res) => res.url().endsWith("/api/redrive") && res.status() === 202);
        await page.click("#dry-run button.confirm-replay");
        await answered;
        await new Promise((resolve) => setTimeout(resolve, 300));
        await page.waitForFunction(() => document.querySelector("#progress .job")?.getAttribute("data-outcome") === "completed", undefined, { timeout: 20_000 });
        expect(await page.locator("#progress .job").textContent()).toBe("replay: 5 of 5 — completed");
        await waitFor(() => r.handled.size === 5, 20_000, "the 5 replayed orders handled");
        // Below the threshold again: the banner goes with the next snapshot.
        await page.locator("#alerts").waitFor({ state: "hidden", timeout: 10_000 });
        expect([...r.handled].sort()).toEqual(["o-1", "o-2", "o-3", "o-4", "o-42"]);
        expect(await r.world.bus.deadLetters().count({ group: r.group })).toBe(2);
        const audit = page.locator("#audit-table tbody tr");
        await page.waitForFunction(() => document.querySelectorAll("#audit-table tbody tr").length === 2, undefined, { timeout: 10_000 });
        expect(await audit.nth(0).locator("td.action-name").textContent()).toBe("replay");
        expect(await audit.nth(1).locator("td.action-name").textContent()).toBe("dry-run-replay");
        expect(await audit.nth(0).textContent()).toContain("local");
        await page.close();
      } finally {
        await stop(r);
      }
    });
  });
}
