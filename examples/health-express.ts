/**
 * Kubernetes probes for a missive service in Express: `healthHandler(bus)`
 * is middleware that answers `GET /livez` and `GET /readyz` (200 or 503, the
 * `bus.health()` snapshot as JSON) and passes every other request on.
 *
 *   /livez   503 once a consumer failed (or the bus closed): restart the pod
 *   /readyz  503 also while the broker is down, the producer's breaker is
 *            open, or a consumer is not running yet
 *
 * Run it: `npx tsx examples/health-express.ts` (PORT, default a free one),
 * then `curl -i localhost:<port>/readyz`. test/examples/health-express.test.ts
 * curls it through an outage and a failed consumer.
 */
import type { AddressInfo } from "node:net";
import express from "express";
import { healthHandler, SchemaValidationError } from "missive";
import { closeOnSignal, OrderPlaced, openShop } from "./health-shop.js";

const shop = await openShop();
const { bus } = shop;
const app = express();

app.use(healthHandler(bus)); // GET /livez, GET /readyz; anything else goes on to the routes below

app.post("/orders", express.json(), async (req, res) => {
  try {
    const receipt = await bus.publish(OrderPlaced, req.body);
    res.status(202).json(receipt); // outcome "confirmed", or "spooled" while the broker is down
  } catch (err) {
    if (err instanceof SchemaValidationError) res.status(400).json({ error: err.message });
    else res.status(503).json({ error: (err as Error).message });
  }
});

const server = app.listen(Number(process.env["PORT"] ?? 0), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
closeOnSignal(() => new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))), shop);
