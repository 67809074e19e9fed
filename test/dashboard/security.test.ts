/**
 * The dashboard's gates, over a real SQLite file: the token (header, or a
 * cookie set once from ?token=), CSRF on every action, read-only mode (403
 * and no buttons), and the CLI refusing to listen beyond loopback without a
 * token.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missive, PermanentError, type Bus } from "../../src/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { uniqueName, waitFor } from "../support/wait.js";
import { cli, ensureBuilt, start } from "../cli/helpers.js";
import { launchBrowser, type TestBrowser } from "./support/browser.js";
import { Order } from "./support/scenario.js";
import { serveDashboard, type TestServer } from "./support/server.js";

// The page's globals, for the functions page.evaluate() runs in the browser (the project compiles without the DOM lib).
declare const document: { querySelectorAll(s: string): { length: number } };

const TOKEN = "s3cret-dashboard-token";
let dir: string;
let path: string;
let bus: Bus;
let group: string;
let browser: TestBrowser;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "missive-dashboard-security-"));
  path = join(dir, "m.db");
  bus = await missive({ service: "dashboard-security", transport: sqliteTransport({ path }) });
  group = uniqueName("dashboard-gates");
  await bus.consume(Order, { group }, (o) => {
    throw new PermanentError(`order ${o.orderId} rejected`);
  }).ready;
  for (const id of ["o-1", "o-2"]) await bus.publish(Order, { orderId: id });
  await waitFor(async () => (await bus.deadLetters().count({ group })) === 2, 10_000, "2 dead letters");
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await bus?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A session cookie and its CSRF token, as the page gets them. */
async function sessionOf(server: TestServer, headers: Record<string, string> = {}): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${server.url}api/session`, { headers });
  expect(res.status).toBe(200);
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  return { cookie, csrf: ((await res.json()) as { csrf: string }).csrf };
}

const dryRunBody = JSON.stringify({ action: "replay", filter: {}, dryRun: true });

describe("dashboard - gates", () => {
  it("dashboard - with a token set, a request without it is refused (401); a Bearer header or a cookie set once from ?token= lets the page in", async () => {
    const server = await serveDashboard({ bus, token: TOKEN });
    try {
      expect((await fetch(server.url)).status).toBe(401);
      expect((await fetch(`${server.url}api/queues`)).status).toBe(401);
      expect((await fetch(`${server.url}api/queues`, { headers: { authorization: "Bearer wrong-token-123" } })).status).toBe(401);
      expect((await fetch(`${server.url}api/queues`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      const once = await fetch(`${server.url}?token=${TOKEN}`, { redirect: "manual" });
      expect(once.status).toBe(303);
      expect(once.headers.get("location")).toBe("/");
      expect(once.headers.getSetCookie().join("\n")).toMatch(/missive_dashboard_token=s3cret-dashboard-token; Path=\/; HttpOnly; SameSite=Strict/);
      // A wrong ?token= beside a good Bearer header is not remembered in place of anything.
      const wrong = await fetch(`${server.url}?token=not-the-token-at-all`, { redirect: "manual", headers: { authorization: `Bearer ${TOKEN}` } });
      expect(wrong.status).toBe(303);
      expect(wrong.headers.getSetCookie().join("")).not.toContain("missive_dashboard_token");

      const page = await browser.newPage();
      const refused = await page.goto(server.url);
      expect(refused?.status()).toBe(401);
      expect(await page.locator("body").innerText()).toContain("a token is required");
      await page.goto(`${server.url}?token=${TOKEN}`);
      expect(page.url()).toBe(server.url);
      await page.locator(`#queues-table tr[data-group="${group}"]`).waitFor({ timeout: 10_000 });
      expect(await page.locator("#source").textContent()).toContain("token");
      await page.close();
    } finally {
      await server.close();
    }
  });

  it("dashboard - a POST without the CSRF header, with a wrong one, from another origin or another site is refused (403), and nothing is done", async () => {
    const server = await serveDashboard({ bus });
    try {
      const { cookie, csrf } = await sessionOf(server);
      const post = (headers: Record<string, string>): Promise<Response> =>
        fetch(`${server.url}api/redrive`, { method: "POST", headers: { "content-type": "application/json", cookie, ...headers }, body: dryRunBody });
      const refusals = [
        await post({}),
        await post({ "x-missive-csrf": "0".repeat(64) }),
        await post({ "x-missive-csrf": csrf, origin: "http://evil.example" }),
        await post({ "x-missive-csrf": csrf, "sec-fetch-site": "cross-site" }),
        await post({ "x-missive-csrf": csrf, "sec-fetch-site": "same-site" }),
      ];
      for (const r of refusals) expect(r.status).toBe(403);
      expect(await refusals[0]!.json()).toEqual({ error: expect.stringContaining("missing CSRF token") });
      // The same request with the header, same-origin: accepted (the gate is not refusing everything).
      const ok = await post({ "x-missive-csrf": csrf, origin: server.url.replace(/\/$/, ""), "sec-fetch-site": "same-origin" });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ action: "replay", matched: 2 });
      const audit = (await (await fetch(`${server.url}api/audit`)).json()) as { records: { action: string }[] };
      expect(audit.records.map((r) => r.action)).toEqual(["dry-run-replay"]);

      // A page of another origin (another port: same site, other origin) posting with the operator's cookies: refused.
      const other = await otherOrigin();
      try {
        const page = await browser.newPage();
        await page.goto(server.url);
        await page.goto(other.url);
        const status = await page.evaluate(async (target) => {
          const r = await fetch(target, { method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": "text/plain" }, body: JSON.stringify({ action: "discard", filter: {} }) });
          return r.type;
        }, `${server.url}api/redrive`);
        expect(status).toBe("opaque");
        await page.close();
      } finally {
        const closed = new Promise<void>((resolve) => other.server.close(() => resolve()));
        other.server.closeAllConnections();
        await closed;
      }
      expect(await bus.deadLetters().count({ group })).toBe(2);
    } finally {
      await server.close();
    }
  });

  it("dashboard - read-only: every action is refused (403) and the page shows no action button", async () => {
    const server = await serveDashboard({ bus, readOnly: true });
    try {
      const { cookie, csrf } = await sessionOf(server);
      for (const body of [dryRunBody, JSON.stringify({ action: "discard", filter: {} })]) {
        const r = await fetch(`${server.url}api/redrive`, { method: "POST", headers: { "content-type": "application/json", cookie, "x-missive-csrf": csrf }, body });
        expect(r.status).toBe(403);
        expect(await r.json()).toEqual({ error: "the dashboard is read-only" });
      }
      const page = await browser.newPage();
      await page.goto(server.url);
      await page.locator("#dl-table tr.dl-row").first().waitFor({ timeout: 10_000 });
      await page.locator("#groups-table tr.group-row").first().waitFor();
      await page.click("#dl-table tr.dl-row button.open");
      await page.locator("#detail").waitFor({ state: "visible" });
      expect(await page.locator("#mode").textContent()).toBe("read-only");
      expect(await page.evaluate(() => document.querySelectorAll("button.action, input.action").length)).toBe(0);
      // Browsing still works.
      expect(await page.locator("#groups-table button.browse-group").count()).toBe(1);
      expect(await bus.deadLetters().count({ group })).toBe(2);
      await page.close();
    } finally {
      await server.close();
    }
  });

  it("dashboard - the CLI refuses to listen beyond loopback without a token (exit 2); on loopback with a token it serves until SIGTERM", async () => {
    const refused = await cli(["dashboard", "--host", "0.0.0.0", "--url", `sqlite://${path}`]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without a token/);
    expect(refused.stdout).toBe("");

    const run = start(["dashboard", "--port", "0", "--url", `sqlite://${path}`], { env: { MISSIVE_DASHBOARD_TOKEN: TOKEN } });
    await waitFor(() => /on http:\/\/127\.0\.0\.1:\d+\//.test(run.stdout()), 20_000, "the dashboard's address");
    const url = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(run.stdout())![1]!;
    expect(run.stdout()).toContain("(token required)");
    expect((await fetch(url)).status).toBe(401);
    const queues = await fetch(`${url}api/queues`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(queues.status).toBe(200);
    expect(((await queues.json()) as { groups: { group: string }[] }).groups.map((g) => g.group)).toContain(group);
    run.child.kill("SIGTERM");
    const ended = await run.finished;
    expect(ended.code).toBe(0);
    expect(ended.stderr).toBe("");
  });
});

/** A server on another port: a page of another origin. */
async function otherOrigin(): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.setHeader("content-type", "text/html");
    res.end("<!doctype html><title>elsewhere</title>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}
