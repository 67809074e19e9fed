/**
 * Transactional publish: transactions that insert an order row and publish
 * one message with `publishIn`, against the same transactions with a plain
 * INSERT of the same columns into a table of the same shape (no triggers,
 * no routing, no NOTIFY). `concurrency` clients run them side by side; each
 * message has a key of its own (an order id), so no two transactions wait on
 * one key's lock.
 *
 *   npx tsx bench/postgres-tx-publish.ts [transactions=3000] [concurrency=8] [notify=true|false]
 *   NOKEY=1 npx tsx bench/postgres-tx-publish.ts …   (unkeyed messages: no key triggers)
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { emptyHeaders } from "../src/envelope/wire.js";
import { uuidv7 } from "../src/envelope/uuidv7.js";
import { postgresTransport } from "../src/transports/postgres/index.js";

const URL = process.env["MISSIVE_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const total = Number(process.argv[2] ?? 3000);
const concurrency = Number(process.argv[3] ?? 8);
const notify = (process.argv[4] ?? "true") === "true";
const prefix = `txbench_${randomBytes(4).toString("hex")}_`;
const topic = "order.placed";
const body = Buffer.from(JSON.stringify({ orderId: "4821", totalCents: 15900 }));

const transport = postgresTransport({ connectionString: URL, tablePrefix: prefix, notify, poolMax: concurrency + 1 });
const pool = transport.pool;

function headers(id: string): Record<string, string> {
  const h = emptyHeaders();
  h["ce-id"] = id;
  h["ce-type"] = topic;
  h["ce-source"] = "bench";
  h["ce-specversion"] = "1.0";
  return h;
}

async function run(label: string, publish: (client: pg.PoolClient, id: string) => Promise<void>): Promise<number> {
  let started = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    const client = await pool.connect();
    try {
      while (started < total) {
        started++;
        const id = uuidv7();
        await client.query("BEGIN");
        await client.query(`INSERT INTO ${prefix}orders (id, total_cents) VALUES ($1, $2)`, [id, 15900]);
        await publish(client, id);
        await client.query("COMMIT");
      }
    } finally {
      client.release();
    }
  }));
  const perSec = Math.round(total / ((performance.now() - t0) / 1000));
  console.log(JSON.stringify({ label, notify, concurrency, transactions: total, perSec }));
  return perSec;
}

try {
  await transport.bind("billing", [topic]);
  await pool.query(`CREATE TABLE ${prefix}orders (id TEXT PRIMARY KEY, total_cents INT NOT NULL)`);
  await pool.query(`CREATE TABLE ${prefix}plain (seq BIGSERIAL PRIMARY KEY, group_name TEXT NOT NULL, topic TEXT NOT NULL, message_id TEXT NOT NULL, key TEXT, headers TEXT NOT NULL, body BYTEA NOT NULL, visible_at BIGINT NOT NULL DEFAULT 0)`);
  const plain = await run("plain INSERT", async (client, id) => {
    await client.query(`INSERT INTO ${prefix}plain (group_name, topic, message_id, key, headers, body) VALUES ($1, $2, $3, $4, $5, $6)`, ["billing", topic, id, id, JSON.stringify(headers(id)), body]);
  });
  const missive = await run("publishIn", async (client, id) => {
    const [r] = await transport.publishIn(client, [{ topic, id, key: process.env["NOKEY"] ? undefined : id, wire: { headers: headers(id), body } }]);
    if (r) throw r;
  });
  console.log(JSON.stringify({ ratio: Math.round((missive / plain) * 100) / 100 }));
} finally {
  await pool.query(`DROP TABLE IF EXISTS ${prefix}orders, ${prefix}plain`);
  await transport.close();
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  for (const name of ["queue", "groups", "bindings", "dead_letters", "consumers", "inbox", "meta"]) await c.query(`DROP TABLE IF EXISTS ${prefix}${name} CASCADE`);
  for (const fn of ["queue_block_key", "queue_unblock_key"]) await c.query(`DROP FUNCTION IF EXISTS ${prefix}${fn}() CASCADE`);
  await c.end();
}
