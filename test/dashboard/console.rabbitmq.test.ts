/**
 * The dashboard in headless Chromium over the shared RabbitMQ (a vhost per
 * test), the same flows as on SQLite (support/scenario.ts), and the broker
 * URL's password never reaching a page or an API answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missive } from "../../src/index.js";
import { rabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { shouldSkip } from "../faults/harness/skip.js";
import { createVhost, rabbitmqMissing } from "../support/rabbitmq.js";
import { uniqueName, waitFor } from "../support/wait.js";
import { launchBrowser, type TestBrowser } from "./support/browser.js";
import { describeConsole, Order, type World } from "./support/scenario.js";
import { serveDashboard } from "./support/server.js";

// The page's globals, for the functions page.evaluate() runs in the browser (the project compiles without the DOM lib).
declare const document: { querySelector(s: string): unknown };

let skip = false;
beforeAll(async () => {
  skip = shouldSkip(await rabbitmqMissing(), "dashboard on rabbitmq");
});

async function open(): Promise<World> {
  const vhost = await createVhost("dashboard");
  const bus = await missive({ service: "dashboard-test", transport: rabbitmqTransport({ url: vhost.url }) });
  return {
    bus,
    source: vhost.url,
    cleanup: async () => {
      await bus.close();
      await vhost.remove();
    },
  };
}

describeConsole("rabbitmq", open, { skip: () => skip });

describe("dashboard on rabbitmq - secrets", () => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("dashboard (rabbitmq) - the broker URL's password appears in no page and no API answer", async ({ skip: skipTest }) => {
    if (skip) return skipTest();
    const world = await open();
    expect(world.source).toContain("guest:guest@");
    const server = await serveDashboard({ bus: world.bus, source: world.source });
    try {
      const group = uniqueName("dashboard-secrets");
      await world.bus.consume(Order, { group }, () => {
        throw new Error(`cannot reach ${world.source}`);
      }).ready;
      await world.bus.publish(Order, { orderId: "o-1" }, {});
      await waitFor(async () => (await world.bus.deadLetters().count({ group })) === 1, 20_000, "the dead letter");
      const page = await browser.newPage();
      const answers: string[] = [];
      page.on("response", (res) => {
        // The event stream never ends; its events are read from the page below.
        if (!res.url().endsWith("/api/events")) answers.push(res.url());
      });
      await page.goto(server.url);
      await page.locator("#dl-table tr.dl-row").first().waitFor({ timeout: 10_000 });
      await page.click("#dl-table tr.dl-row button.open");
      await page.locator("#detail").waitFor({ state: "visible" });
      await page.waitForFunction((g) => document.querySelector(`#queues-table tr[data-group="${g}"]`) !== null, group, { timeout: 10_000 });
      const shown = await page.locator("body").innerText();
      expect(shown).toContain("amqp://guest:***@");
      // Every API answer the page read, fetched again as text, and what the event stream pushed.
      const texts = await Promise.all([...new Set(answers)].map(async (url) => (await fetch(url, { headers: { cookie: "" } })).text()));
      const events = await page.evaluate(async () => {
        const source = new EventSource("api/events");
        return new Promise<string>((resolve) => source.addEventListener("queues", (e) => {
          source.close();
          resolve((e as unknown as { data: string }).data);
        }));
      });
      expect(answers.length).toBeGreaterThan(5);
      for (const text of [shown, await page.content(), events, ...texts]) {
        expect(text).not.toContain("guest:guest");
        expect(text).not.toContain(":guest@");
      }
      await page.close();
    } finally {
      await server.close();
      await world.cleanup();
    }
  });
});
