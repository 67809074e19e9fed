/** The handler mounted as frameworks mount it: under a prefix in node:http, and with the mount path stripped (Express's app.use). */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardHandler, type DashboardHandler } from "../../src/dashboard/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";

let handler: DashboardHandler;
let base: string;
let close: () => Promise<void>;

beforeAll(async () => {
  handler = dashboardHandler({ transport: createMemoryBroker().transport() });
  // What Express does for app.use("/ops", handler): req.url loses the mount path, req.originalUrl keeps it.
  const server = createServer((req: IncomingMessage & { originalUrl?: string }, res) => {
    if (!req.url?.startsWith("/ops")) return void res.writeHead(404).end();
    req.originalUrl = req.url;
    req.url = req.url.slice("/ops".length) || "/";
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = async () => {
    handler.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };
});
afterAll(() => close());

describe("dashboard - mounted", () => {
  it("dashboard - mounted with its path stripped: /ops goes to /ops/ (the page's links are relative), the page and its files answer there", async () => {
    const bare = await fetch(`${base}/ops`, { redirect: "manual" });
    expect(bare.status).toBe(303);
    expect(bare.headers.get("location")).toBe("/ops/");
    const page = await fetch(`${base}/ops/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toMatch(/^default-src 'self'; script-src 'self';/);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="ui/app.js"></script>');
    const js = await fetch(`${base}/ops/ui/app.js`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await js.text()).toContain("EventSource");
    expect((await fetch(`${base}/ops/ui/../../package.json`)).status).toBe(404);
    expect((await fetch(`${base}/ops/ui/%2e%2e%2fhandler.ts`)).status).toBe(404);
    // A ?token= on a dashboard without a token is nobody's credential: no redirect, no cookie.
    const stray = await fetch(`${base}/ops/?token=whatever-it-is`, { redirect: "manual" });
    expect(stray.status).toBe(200);
    expect(stray.headers.getSetCookie().join("")).not.toContain("missive_dashboard_token");
    expect((await fetch(`${base}/ops/api/dead-letters/%E0%A4%A`)).status).toBe(400);
    expect(() => dashboardHandler({ transport: createMemoryBroker().transport(), pollIntervalMs: 5 })).toThrow(/pollIntervalMs/);
  });

  it("dashboard - a transport without a dead-letter store still shows its queues; the dead-letter API says why it is empty (409)", async () => {
    const noStore = dashboardHandler({ transport: createMemoryBroker().transport({ capabilities: { nativeDeadLetter: false } }) });
    const server = createServer(noStore);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(((await (await fetch(`${url}/api/session`)).json()) as { deadLetters: boolean }).deadLetters).toBe(false);
      expect((await fetch(`${url}/api/queues`)).status).toBe(200);
      const groups = await fetch(`${url}/api/groups`);
      expect(groups.status).toBe(409);
      expect(await groups.json()).toEqual({ error: expect.stringContaining("no dead-letter store") });
    } finally {
      noStore.close();
      server.close();
    }
  });
});
