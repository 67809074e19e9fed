/**
 * Transactional publish: transactions that insert an order row and publish
 * one message with the transport's `publishIn`, against the same
 * transactions with a plain INSERT of the same columns into a table of the
 * same shape (no triggers, no routing, no NOTIFY). `concurrency` clients run
 * them side by side; a keyed message has a key of its own (its order id), so
 * no two transactions wait on one key's lock. Tables are made under `prefix`
 * in the connection's schema; the caller drops that schema.
 */
import type pg from "pg";
import { emptyHeaders } from "../../src/envelope/wire.js";
import { uuidv7 } from "../../src/envelope/uuidv7.js";
import { postgresTransport } from "../../src/transports/postgres/index.js";
import { cpuUsPerMsg, rate } from "../lib/measure.js";
import { RssSampler } from "../lib/rss-sampler.js";

export interface TxPublishParams {
  /** postgres:// URL (with the schema the tables go in as search_path). */
  readonly url: string;
  readonly prefix: string;
  readonly transactions: number;
  readonly concurrency: number;
  readonly notify: boolean;
  /** Each message keyed by its order id (the key triggers run), or unkeyed. */
  readonly keyed: boolean;
  /** What each transaction does after its order row: `publishIn`, or the plain INSERT. */
  readonly mode: "publishIn" | "plain";
}

export interface TxPublishResult {
  readonly perS: number;
  readonly cpuUsPerTx: number;
  readonly rssMb: number;
}

export const TOPIC = "order.placed";

/** The CloudEvents headers of the transactional-publish rows' message `id` (bench/postgres-tx-cpu.ts sends the same). */
export function txHeaders(id: string): Record<string, string> {
  const h = emptyHeaders();
  h["ce-id"] = id;
  h["ce-type"] = TOPIC;
  h["ce-source"] = "bench";
  h["ce-specversion"] = "1.0";
  return h;
}

export async function pgTxPublish(p: TxPublishParams): Promise<TxPublishResult> {
  const transport = postgresTransport({ connectionString: p.url, tablePrefix: p.prefix, notify: p.notify, poolMax: p.concurrency + 1 });
  const pool = transport.pool;
  const body = Buffer.from(JSON.stringify({ orderId: "4821", totalCents: 15900 }));
  const publish = p.mode === "publishIn"
    ? async (client: pg.PoolClient, id: string): Promise<void> => {
        const [r] = await transport.publishIn(client, [{ topic: TOPIC, id, key: p.keyed ? id : undefined, wire: { headers: txHeaders(id), body } }]);
        if (r) throw r;
      }
    : async (client: pg.PoolClient, id: string): Promise<void> => {
        await client.query(`INSERT INTO ${p.prefix}plain (group_name, topic, message_id, key, headers, body) VALUES ($1, $2, $3, $4, $5, $6)`, ["billing", TOPIC, id, p.keyed ? id : null, JSON.stringify(txHeaders(id)), body]);
      };
  try {
    await transport.bind("billing", [TOPIC]);
    await pool.query(`CREATE TABLE ${p.prefix}orders (id TEXT PRIMARY KEY, total_cents INT NOT NULL)`);
    await pool.query(`CREATE TABLE ${p.prefix}plain (seq BIGSERIAL PRIMARY KEY, group_name TEXT NOT NULL, topic TEXT NOT NULL, message_id TEXT NOT NULL, key TEXT, headers TEXT NOT NULL, body BYTEA NOT NULL, visible_at BIGINT NOT NULL DEFAULT 0)`);
    let started = 0;
    const rss = new RssSampler().start();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: p.concurrency }, async () => {
      const client = await pool.connect();
      try {
        while (started < p.transactions) {
          started++;
          const id = uuidv7();
          await client.query("BEGIN");
          try {
            await client.query(`INSERT INTO ${p.prefix}orders (id, total_cents) VALUES ($1, $2)`, [id, 15900]);
            await publish(client, id);
            await client.query("COMMIT");
          } catch (err) {
            await client.query("ROLLBACK");
            throw err;
          }
        }
      } finally {
        client.release();
      }
    }));
    const ms = performance.now() - t0;
    return { perS: rate(p.transactions, ms), cpuUsPerTx: cpuUsPerMsg(cpu0, p.transactions), rssMb: rss.stop().peakMb };
  } finally {
    await transport.close();
  }
}
