/**
 * The handler mounted in Express, Fastify and Hono as docs/dashboard.md shows it:
 * the page loads under the mount path, the queues arrive live over the
 * event stream through the framework, and an action (a dry run, with its
 * CSRF header and JSON body) gets through untouched by the framework's own
 * body parsing.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { serve, type HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardHandler, type DashboardHandler } from "../../src/dashboard/index.js";
import { missive, PermanentError, type Bus } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { waitFor } from "../support/wait.js";
import { launchBrowser, type TestBrowser } from "./support/browser.js";
import { Order } from "./support/scenario.js";

let bus: Bus;
let browser: TestBrowser;

beforeAll(async () => {
  bus = await missive({ service: "frameworks", transport: createMemoryBroker().transport() });
  await bus.consume(Order, { group: "billing" }, (o) => {
    throw new PermanentError(`order ${o.orderId} rejected`);
  }).ready;
  for (const orderId of ["o-1", "o-2", "o-3"]) await bus.publish(Order, { orderId });
  await waitFor(async () => (await bus.deadLetters().count()) === 3, 10_000, "3 dead letters");
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await bus?.close();
});

/** Open the mounted page, see the queues pushed, and run a failure group's dry run from it. */
async function drive(pageUrl: string): Promise<void> {
  const page = await browser.newPage();
  await page.goto(pageUrl);
  await page.locator('#queues-table tr[data-group="billing"] td.dead').waitFor({ timeout: 10_000 });
  expect(await page.locator('#queues-table tr[data-group="billing"] td.dead').textContent()).toBe("3");
  await page.locator("#groups-table button.dry-run-replay").click();
  await page.locator("#dry-run .dry-run-result").waitFor({ timeout: 10_000 });
  expect(await page.locator("#dry-run .dry-run-result").textContent()).toContain("would replay 3 dead letters");
  expect(await page.locator("#error").isHidden()).toBe(true);
  await page.close();
}

async function closeServer(server: Server, handler: DashboardHandler): Promise<void> {
  handler.close();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

describe("dashboard - in frameworks", () => {
  it("dashboard - Express: app.use(path, handler) serves the page at <path>/ (and redirects <path>), live queues and actions work", async () => {
    const handler = dashboardHandler({ bus });
    const app = express();
    app.use(express.json()); // the app's own parser: the dashboard's POST must still get its body
    app.use("/ops/missive", handler);
    app.get("/", (_req, res) => void res.send("the app"));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const bare = await fetch(`${base}/ops/missive`, { redirect: "manual" });
      expect(bare.status).toBe(303);
      expect(bare.headers.get("location")).toBe("/ops/missive/");
      expect(await (await fetch(`${base}/`)).text()).toBe("the app");
      await drive(`${base}/ops/missive/`);
    } finally {
      await closeServer(server, handler);
    }
  });

  it("dashboard - Fastify: hijacked in an onRequest hook under its prefix, before Fastify parses a body; live queues and actions work", async () => {
    const handler = dashboardHandler({ bus, prefix: "/ops/missive" });
    const app = Fastify();
    app.addHook("onRequest", (req, reply, done) => {
      if (req.url !== "/ops/missive" && !req.url.startsWith("/ops/missive/")) return done();
      reply.hijack();
      handler(req.raw, reply.raw);
    });
    app.get("/", async () => "the app");
    await app.listen({ port: 0, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      expect(await (await fetch(`${base}/`)).text()).toBe("the app");
      await drive(`${base}/ops/missive/`);
    } finally {
      handler.close();
      app.server.closeAllConnections();
      await app.close();
    }
  });

  it("dashboard - Hono on @hono/node-server: the route hands the Node request and response from its env to the handler; live queues and actions work", async () => {
    const handler = dashboardHandler({ bus, prefix: "/ops/missive" });
    const app = new Hono<{ Bindings: HttpBindings }>();
    app.all("/ops/missive/*", (c) => {
      handler(c.env.incoming, c.env.outgoing);
      return RESPONSE_ALREADY_SENT;
    });
    app.get("/", (c) => c.text("the app"));
    const server = await new Promise<Server>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s as Server));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await (await fetch(`${base}/`)).text()).toBe("the app");
      await drive(`${base}/ops/missive/`);
    } finally {
      await closeServer(server, handler);
    }
  });
});
