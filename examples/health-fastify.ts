/**
 * Kubernetes probes for a missive service in Fastify: two routes that answer
 * from `bus.health()` (Fastify adds HEAD for each GET).
 *
 *   /livez   503 once a consumer failed (or the bus closed): restart the pod
 *   /readyz  503 also while the broker is down, the producer's breaker is
 *            open, or a consumer is not running yet
 *
 * (`healthHandler(bus)`, the node:http handler the Express example mounts,
 * works here too: `reply.hijack(); probe(request.raw, reply.raw)`. Routes of
 * Fastify's own keep its logging and hooks.)
 *
 * Run it: `npx tsx examples/health-fastify.ts` (PORT, default a free one),
 * then `curl -i localhost:<port>/readyz`. test/examples/health-fastify.test.ts
 * curls it through an outage and a failed consumer.
 */
import Fastify from "fastify";
import { SchemaValidationError, type MessageInput } from "missive";
import { closeOnSignal, OrderPlaced, openShop } from "./health-shop.js";

const shop = await openShop();
const { bus } = shop;
const app = Fastify();

app.get("/livez", async (_request, reply) => {
  const health = bus.health();
  return reply.code(health.live ? 200 : 503).header("cache-control", "no-store").send(health);
});
app.get("/readyz", async (_request, reply) => {
  const health = bus.health();
  return reply.code(health.ready ? 200 : 503).header("cache-control", "no-store").send(health);
});

// The body is typed here and validated by publish (a SchemaValidationError is a 400).
app.post<{ Body: MessageInput<typeof OrderPlaced> }>("/orders", async (request, reply) => {
  try {
    const receipt = await bus.publish(OrderPlaced, request.body);
    return reply.code(202).send(receipt); // outcome "confirmed", or "spooled" while the broker is down
  } catch (err) {
    if (err instanceof SchemaValidationError) return reply.code(400).send({ error: err.message });
    return reply.code(503).send({ error: (err as Error).message });
  }
});

const address = await app.listen({ port: Number(process.env["PORT"] ?? 0), host: "127.0.0.1" });
console.log(`listening on ${address}`);
closeOnSignal(() => app.close(), shop);
