/**
 * The operator console mounted in your own server, beside your routes:
 *
 *   1. `dashboardHandler({ bus, prefix })` is a plain Node handler; here it
 *      sits in node:http, and the same function mounts in Express
 *      (`app.use(handler)`), Fastify or Hono (their raw request/response);
 *   2. it answers under its prefix and hands anything else to `next()`;
 *   3. the page and its API are protected by a token, actions by CSRF.
 *
 * Run it: `npx tsx examples/dashboard-mount.ts` (it starts, checks itself and
 * exits; with KEEP=1 it keeps serving so you can open the page).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { defineMessage, missive, PermanentError } from "missive";
import { dashboardHandler } from "missive/dashboard";
import { createMemoryBroker } from "missive/memory";

const OrderPlaced = defineMessage({
  type: "order.placed",
  schema: z.object({ orderId: z.string() }),
  key: (o) => o.orderId,
});

const bus = await missive({ service: "shop", transport: createMemoryBroker().transport() });
await bus.consume(OrderPlaced, { group: "billing" }, (order) => {
  throw new PermanentError(`order ${order.orderId} has no customer`);
}).ready;
for (const orderId of ["o-1", "o-2", "o-3"]) await bus.publish(OrderPlaced, { orderId });
while ((await bus.deadLetters().count()) < 3) await new Promise((r) => setTimeout(r, 10));

const token = process.env["DASHBOARD_TOKEN"] ?? "change-me-to-a-long-random-token";
const dashboard = dashboardHandler({ bus, prefix: "/ops/missive", token, replayRate: { perSecond: 50 } });

const server = createServer((req, res) => {
  if (req.url === "/healthz") return void res.end("ok");
  // Your own routes first; the dashboard answers under /ops/missive and passes the rest on.
  dashboard(req, res, () => {
    res.statusCode = 404;
    res.end("not found");
  });
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
console.log(`dashboard at ${base}/ops/missive/?token=${process.env["KEEP"] ? token : "…"}`);

const auth = { authorization: `Bearer ${token}` };
const page = await fetch(`${base}/ops/missive/`, { headers: auth });
console.log(`page: ${page.status}, ${page.headers.get("content-security-policy")?.split(";")[0]}`);
console.log(`without the token: ${(await fetch(`${base}/ops/missive/`)).status}`);
console.log(`your route: ${await (await fetch(`${base}/healthz`)).text()}; not the dashboard's: ${(await fetch(`${base}/other`)).status}`);
const { groups } = (await (await fetch(`${base}/ops/missive/api/groups`, { headers: auth })).json()) as { groups: { count: number; type: string; pattern: string }[] };
for (const g of groups) console.log(`failure group: ${g.count} × ${g.type} "${g.pattern}"`);

if (!process.env["KEEP"]) {
  dashboard.close();
  server.close();
  await bus.close();
  console.log("dashboard-mount example finished");
}
