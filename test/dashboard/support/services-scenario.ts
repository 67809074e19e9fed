/**
 * The services part of the dashboard in a browser, the same on every
 * transport: a bus that reports every 300 ms, an ordered consumer with a
 * service level of its own and one key stuck behind a retry, a second type
 * with a level set on the dashboard that it misses, and a dead letter that
 * raises the rate alert. The page must draw the charts, judge both levels,
 * list the stuck key with its message id, and show the producer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PermanentError, TransientError, type Bus } from "../../../src/index.js";
import { sleep, uniqueName } from "../../support/wait.js";
import { launchBrowser, type TestBrowser } from "./browser.js";
import { Order, Tick, type World } from "./scenario.js";
import { screenshot } from "./screenshot.js";
import { serveDashboard } from "./server.js";

// The page's globals, for the functions page.evaluate() runs in the browser (the project compiles without the DOM lib).
declare const document: { querySelector(s: string): { textContent: string | null } | null; querySelectorAll(s: string): { length: number } };
declare const window: Record<string, unknown>;

/** `open(reportInterval)` makes the bus under test with that report interval. */
export function describeServices(transport: string, open: (reportInterval: "300ms") => Promise<World>, options: { screenshots?: boolean; skip?: () => boolean } = {}): void {
  let browser: TestBrowser;
  beforeAll(async () => {
    if (!options.skip?.()) browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describe(`dashboard services on ${transport}`, () => {
    it(`dashboard services (${transport}) - charts per group and type, service levels met and missed, the key blocked behind a retry, the producer, the dead-letter rate alert`, async ({ skip }) => {
      if (options.skip?.()) return skip();
      const world = await open("300ms");
      const bus: Bus = world.bus;
      const group = uniqueName("svc-orders");
      const ticks = uniqueName("svc-ticks");
      const server = await serveDashboard({
        bus, source: world.source, pollIntervalMs: 500,
        slo: { [Tick.type]: "99%<1ms" },
        alerts: { deadLetterRate: { count: 1, withinMs: 120_000 } },
      });
      try {
        await bus.consume(Order, { group, ordered: true, slo: "95%<30s", retry: { delays: ["10m"] } }, async (order) => {
          if (order.orderId === "stuck") throw new TransientError("the warehouse is down");
          if (order.orderId === "bad") throw new PermanentError("order bad rejected");
          await sleep(5);
        }).ready;
        await bus.consume(Tick, { group: ticks }, async () => {
          await sleep(5);
        }).ready;
        const page = await browser.newPage();
        await page.goto(server.url);
        await page.locator("#live.on").waitFor({ timeout: 10_000 });
        // The page saw the dead letters at 0 before the poison came: the rise raises the alert.
        await page.waitForFunction(() => document.querySelector("#services-note")?.textContent?.startsWith("the last") === true, undefined, { timeout: 15_000 });
        for (let i = 0; i < 20; i++) await bus.publish(Order, { orderId: `o-${i % 5}` });
        const stuck = await bus.publish(Order, { orderId: "stuck" });
        await bus.publish(Order, { orderId: "stuck", note: "waits behind the first" });
        await bus.publish(Order, { orderId: "bad" });
        for (let n = 0; n < 10; n++) await bus.publish(Tick, { n });

        const orders = `.service-card[data-group="${group}"][data-type="${Order.type}"]`;
        await page.locator(`${orders} svg.chart path.series`).first().waitFor({ state: "attached", timeout: 20_000 });
        expect(await page.locator(`${orders} svg.chart`).count()).toBe(3);
        await page.waitForFunction((sel) => document.querySelector(`${sel} .slo`)?.textContent?.includes(": met") === true, orders, { timeout: 20_000 });
        expect(await page.locator(`${orders} .slo`).textContent()).toContain("the consumer's own level");

        const tickCard = `.service-card[data-group="${ticks}"][data-type="${Tick.type}"]`;
        await page.waitForFunction((sel) => document.querySelector(`${sel} .slo`)?.textContent?.includes("NOT met") === true, tickCard, { timeout: 20_000 });
        expect(await page.locator(`${tickCard} .slo`).getAttribute("data-met")).toBe("false");

        const blocked = page.locator('#blocked-table tr[data-key="stuck"]');
        await blocked.waitFor({ timeout: 20_000 });
        expect(await blocked.locator("td.message-id").textContent()).toBe(stuck.id);
        expect(await page.locator("#blocked-table tr[data-key]").count()).toBe(1);

        const producer = page.locator(`#producers-table tr[data-service="${bus.service}"]`);
        await producer.waitFor({ timeout: 20_000 });
        expect(await producer.locator("td.broker").textContent()).toBe("up");
        expect(await producer.locator("td.breaker").textContent()).toBe("closed");

        await page.waitForFunction(() => document.querySelector('#alerts li[data-kind="dead-letter-rate"]')?.textContent?.includes("within 2 minutes") === true, undefined, { timeout: 20_000 });
        expect(await page.evaluate(() => window["__pwned"])).toBeUndefined();
        if (options.screenshots) await screenshot(await page.locator("main").screenshot(), "services.png");
        await page.close();
      } finally {
        await server.close();
        await world.cleanup();
      }
    });
  });
}
