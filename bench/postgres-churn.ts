/**
 * Churn: `messages` pass through one PostgreSQL queue (published in batches,
 * drained by one subscription with batched acks, while the publisher keeps
 * going, at most `backlog` messages ahead of it: a queue in steady state,
 * not a million-message backlog), then the queue table's and its indexes'
 * sizes, with autovacuum at the server's settings. Prints the sizes right
 * after the drain and again after `settleMs` (autovacuum's chance to run).
 *
 *   npx tsx bench/postgres-churn.ts [messages=1000000] [batch=500] [settleMs=60000] [backlog=20000]
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { emptyHeaders } from "../src/envelope/wire.js";
import { uuidv7 } from "../src/envelope/uuidv7.js";
import { postgresTransport } from "../src/transports/postgres/index.js";

const URL = process.env["MISSIVE_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const total = Number(process.argv[2] ?? 1_000_000);
const batchSize = Number(process.argv[3] ?? 500);
const settleMs = Number(process.argv[4] ?? 60_000);
const backlog = Number(process.argv[5] ?? 20_000);
const prefix = `churn_${randomBytes(4).toString("hex")}_`;
const topic = "churn.event";
const body = Buffer.from(JSON.stringify({ orderId: "4821", totalCents: 15900, note: "x".repeat(64) }));

function message(i: number): { topic: string; id: string; key: string | undefined; wire: { headers: Record<string, string>; body: Buffer } } {
  const id = uuidv7();
  const headers = emptyHeaders();
  headers["ce-id"] = id;
  headers["ce-type"] = topic;
  headers["ce-source"] = "churn";
  headers["ce-specversion"] = "1.0";
  return { topic, id, key: `k${i % 1000}`, wire: { headers, body } };
}

const admin = new pg.Client({ connectionString: URL });
await admin.connect();
const sizes = async (): Promise<Record<string, string | number>> => {
  const r = await admin.query<{ table: string; indexes: string; total: string; live: string; dead: string; vacuums: string }>(
    `SELECT pg_size_pretty(pg_relation_size($1)) AS table, pg_size_pretty(pg_indexes_size($1)) AS indexes,
            pg_size_pretty(pg_total_relation_size($1)) AS total, n_live_tup AS live, n_dead_tup AS dead, autovacuum_count AS vacuums
       FROM pg_stat_user_tables WHERE relname = $2`,
    [`${prefix}queue`, `${prefix}queue`],
  );
  return { ...r.rows[0] };
};

const producer = postgresTransport({ connectionString: URL, tablePrefix: prefix, poolMax: 2 });
const consumer = postgresTransport({ connectionString: URL, tablePrefix: prefix, poolMax: 2 });
const rss: number[] = [];
try {
  await producer.bind("churn", [topic]);
  const sub = await consumer.subscribe({ group: "churn", topics: [topic], prefetch: 1000, ordered: true, leaseMs: 30_000 });
  const started = performance.now();
  let published = 0;
  let drained = 0;
  const publishing = (async () => {
    while (published < total) {
      // Unbounded, the publisher runs ahead and the table's size is the backlog's, not the churn's.
      while (published - drained >= backlog) await new Promise((r) => setTimeout(r, 5));
      const n = Math.min(batchSize, total - published);
      const batch = Array.from({ length: n }, (_, j) => message(published + j));
      const results = await producer.publish(batch);
      if (results.some((r) => r !== undefined)) throw new Error("a publish failed");
      published += n;
    }
  })();
  let lastReport = 0;
  while (drained < total) {
    const got = await sub.receive(1000, 1_000);
    drained += got.length;
    await Promise.all(got.map((d) => d.ack()));
    if (drained - lastReport >= 100_000) {
      lastReport = drained;
      rss.push(Math.round(process.memoryUsage().rss / 1048576));
      console.log(JSON.stringify({ drained, published, seconds: Math.round((performance.now() - started) / 1000), rssMiB: rss.at(-1), ...(await sizes()) }));
    }
  }
  await publishing;
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ done: total, seconds: Math.round(seconds), perSec: Math.round(total / seconds), afterDrain: await sizes() }));
  await new Promise((r) => setTimeout(r, settleMs));
  console.log(JSON.stringify({ afterSettle: await sizes(), rssMiB: rss }));
} finally {
  await producer.close();
  await consumer.close();
  for (const name of ["queue", "groups", "bindings", "dead_letters", "consumers", "inbox", "meta"]) await admin.query(`DROP TABLE IF EXISTS ${prefix}${name} CASCADE`);
  for (const fn of ["queue_block_key", "queue_unblock_key"]) await admin.query(`DROP FUNCTION IF EXISTS ${prefix}${fn}() CASCADE`);
  await admin.end();
}
