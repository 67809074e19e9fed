/**
 * Quick PostgreSQL transport figures on the shared server: publish rate with
 * `publishers` transports (each its own pool, one message per publish, so
 * every publish is its own transaction: the NOTIFY lock is taken once per
 * commit), then the claim + batched-ack rate of one subscription draining
 * the backlog. Run it with notify on and off to see what NOTIFY costs.
 *
 *   npx tsx bench/postgres-quick.ts [messages=20000] [publishers=16] [notify=true|false]
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { OutgoingMessage } from "../src/index.js";
import { postgresTransport } from "../src/transports/postgres/index.js";
import { seamMessage } from "./cases/event.js";

const URL = process.env["MISSIVE_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const total = Number(process.argv[2] ?? 20_000);
const publishers = Number(process.argv[3] ?? 16);
const notify = (process.argv[4] ?? "true") === "true";
const prefix = `bench_${randomBytes(4).toString("hex")}_`;
const topic = "bench.event";
const body = Buffer.from(JSON.stringify({ orderId: "4821", totalCents: 15900, note: "x".repeat(64) }));

const message = (): OutgoingMessage => seamMessage(topic, body);

const transports = Array.from({ length: publishers }, () => postgresTransport({ connectionString: URL, tablePrefix: prefix, notify, poolMax: 2 }));
try {
  await transports[0]!.connect();
  await transports[0]!.bind("bench", [topic]);
  for (const t of transports) await t.connect();
  let sent = 0;
  const started = performance.now();
  await Promise.all(transports.map(async (t) => {
    while (sent < total) {
      sent++;
      const [r] = await t.publish([message()]);
      if (r) throw r;
    }
  }));
  const publishMs = performance.now() - started;
  const consumer = transports[0]!;
  const sub = await consumer.subscribe({ group: "bench", topics: [topic], prefetch: 512, ordered: false, leaseMs: 30_000 });
  let drained = 0;
  const drainStart = performance.now();
  while (drained < total) {
    const got = await sub.receive(512, 1_000);
    drained += got.length;
    await Promise.all(got.map((d) => d.ack()));
  }
  const drainMs = performance.now() - drainStart;
  console.log(JSON.stringify({ notify, publishers, messages: total, publishPerSec: Math.round(total / (publishMs / 1000)), drainPerSec: Math.round(total / (drainMs / 1000)) }));
} finally {
  for (const t of transports) await t.close();
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  for (const name of ["queue", "groups", "bindings", "dead_letters", "consumers", "inbox", "meta"]) await c.query(`DROP TABLE IF EXISTS ${prefix}${name} CASCADE`);
  for (const fn of ["queue_block_key", "queue_unblock_key"]) await c.query(`DROP FUNCTION IF EXISTS ${prefix}${fn}() CASCADE`);
  await c.end();
}
