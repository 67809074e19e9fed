/**
 * A quick measure (not a test, not part of `npm run bench`) of an ORDERED
 * group on RabbitMQ: publish N keyed messages (64 concurrent publishers), then
 * drain them with one ordered consumer (concurrency 32) in this process, in a
 * vhost of its own. Run against any checkout, to compare before and after:
 *
 *   [PARTITIONS=n] npx tsx bench/rabbitmq-ordered-quick.ts [srcRoot=.] [messages=20000] [keys=500]
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { createVhost } from "../test/support/rabbitmq.js";

const root = resolve(process.argv[2] ?? ".");
const count = Number(process.argv[3] ?? 20_000);
const keys = Number(process.argv[4] ?? 500);
type Index = typeof import("../src/index.js");
type Rabbit = typeof import("../src/transports/rabbitmq/index.js");
const m = (await import(pathToFileURL(`${root}/src/index.ts`).href)) as Index;
const r = (await import(pathToFileURL(`${root}/src/transports/rabbitmq/index.ts`).href)) as Rabbit;

const Ordered = m.defineMessage({ type: "bench.ordered", version: 1, schema: z.object({ k: z.string(), seq: z.number() }), key: (d) => d.k });
const vhost = await createVhost("bench-ordered");
try {
  const bus = await m.missive({ transport: r.rabbitmqTransport({ url: vhost.url, ...(process.env["PARTITIONS"] ? { partitions: Number(process.env["PARTITIONS"]) } : {}) }), service: "bench" });
  let handled = 0;
  let done!: () => void;
  const all = new Promise<void>((res) => (done = res));
  // Subscribe first (an empty group), so every publish is routed to it.
  const consumer = bus.consume(Ordered, { group: "ordered", ordered: true, concurrency: 32 }, () => {
    if (++handled === count) done();
  });
  await consumer.ready;
  await consumer.close();
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 64 }, async () => {
    for (let i = next++; i < count; i = next++) await bus.publish(Ordered, { k: `k${i % keys}`, seq: i });
  }));
  const publishS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const drain = bus.consume(Ordered, { group: "ordered", ordered: true, concurrency: 32 }, () => {
    if (++handled === count) done();
  });
  await all;
  const consumeS = (performance.now() - t1) / 1000;
  await drain.close();
  await bus.close();
  console.log(JSON.stringify({ root, count, keys, publish_msgs_per_s: Math.round(count / publishS), consume_msgs_per_s: Math.round(count / consumeS) }));
} finally {
  await vhost.remove();
}
