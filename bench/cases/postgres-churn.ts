/**
 * Churn: `messages` pass through one PostgreSQL queue (published in batches,
 * drained by one ordered subscription with batched acks while the publisher
 * keeps going, at most `backlog` messages ahead of it: a queue in steady
 * state, not a million-message backlog), on a PostgreSQL cluster of the
 * case's own (initdb, server defaults: autovacuum on; the shared test server
 * may run without it). Reports the queue table's and its indexes' sizes right
 * after the drain and again `settleMs` later (autovacuum's chance to run).
 *
 * Run by bench/postgres-run.ts as a row of `npm run bench`; by hand:
 *   npx tsx bench/postgres-churn.ts [messages=1000000] [batch=500] [settleMs=60000] [backlog=20000]
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { OutgoingMessage } from "../../src/index.js";
import { postgresTransport } from "../../src/transports/postgres/index.js";
import { startBroker } from "../../test/support/broker-process.js";
import { seamMessage } from "./event.js";

export interface ChurnParams {
  readonly messages: number;
  /** Messages per publish call. */
  readonly batch: number;
  /** How far the publisher may run ahead of the consumer. */
  readonly backlog: number;
  /** How long to wait after the drain before measuring again. */
  readonly settleMs: number;
}

export interface TableSizes {
  readonly tableBytes: number;
  readonly indexBytes: number;
  readonly liveRows: number;
  readonly deadRows: number;
  readonly autovacuums: number;
  readonly vacuums: number;
}

export interface ChurnResult {
  readonly messages: number;
  readonly perS: number;
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly afterDrain: TableSizes;
  readonly afterSettle: TableSizes;
  readonly settleMs: number;
  /** The server's own setting, read from it. */
  readonly autovacuum: string;
}

const TOPIC = "churn.event";
const BODY = Buffer.from(JSON.stringify({ orderId: "4821", totalCents: 15900, note: "x".repeat(64) }));

function message(i: number): OutgoingMessage {
  return seamMessage(TOPIC, BODY, { key: `k${i % 1000}`, source: "churn" });
}

async function tableSizes(admin: pg.Client, table: string): Promise<TableSizes> {
  const r = await admin.query<{ table_bytes: string; index_bytes: string; live: string; dead: string; autovacuums: string; vacuums: string }>(
    `SELECT pg_relation_size(relid) AS table_bytes, pg_indexes_size(relid) AS index_bytes, n_live_tup AS live, n_dead_tup AS dead,
            autovacuum_count AS autovacuums, vacuum_count AS vacuums
       FROM pg_stat_user_tables WHERE relname = $1`,
    [table],
  );
  const row = r.rows[0];
  if (!row) throw new Error(`churn: no statistics for table ${table}`);
  return {
    tableBytes: Number(row.table_bytes), indexBytes: Number(row.index_bytes), liveRows: Number(row.live), deadRows: Number(row.dead),
    autovacuums: Number(row.autovacuums), vacuums: Number(row.vacuums),
  };
}

/** The churn on a server of its own, started and removed here; `onProgress` sees every 100,000 drained. */
export async function pgChurn(p: ChurnParams, onProgress: (line: string) => void = () => undefined): Promise<ChurnResult> {
  const server = await startBroker("postgres");
  try {
    return await churnOn(server.url, p, onProgress);
  } finally {
    await server.stop();
  }
}

async function churnOn(url: string, p: ChurnParams, onProgress: (line: string) => void): Promise<ChurnResult> {
  const prefix = `churn_${randomBytes(4).toString("hex")}_`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const producer = postgresTransport({ connectionString: url, tablePrefix: prefix, poolMax: 2 });
  const consumer = postgresTransport({ connectionString: url, tablePrefix: prefix, poolMax: 2 });
  let peakRss = 0;
  const sampleRss = (): void => void (peakRss = Math.max(peakRss, process.memoryUsage().rss));
  try {
    const autovacuum = (await admin.query<{ autovacuum: string }>("SHOW autovacuum")).rows[0]?.autovacuum ?? "unknown";
    await producer.bind("churn", [TOPIC]);
    const sub = await consumer.subscribe({ group: "churn", topics: [TOPIC], prefetch: 1000, ordered: true, leaseMs: 30_000 });
    const started = performance.now();
    let published = 0;
    let drained = 0;
    const publishing = (async () => {
      while (published < p.messages) {
        // Unbounded, the publisher runs ahead and the table's size is the backlog's, not the churn's.
        while (published - drained >= p.backlog) await new Promise((r) => setTimeout(r, 5));
        const n = Math.min(p.batch, p.messages - published);
        const results = await producer.publish(Array.from({ length: n }, (_, j) => message(published + j)));
        const failure = results.find((r) => r !== undefined);
        if (failure) throw failure;
        published += n;
      }
    })();
    // A failed publish ends the drain too, rather than leaving it waiting for messages that never come.
    let publishError: unknown;
    publishing.catch((err: unknown) => void (publishError = err));
    let lastReport = 0;
    while (drained < p.messages) {
      if (publishError !== undefined) throw publishError;
      const got = await sub.receive(1000, 1_000);
      drained += got.length;
      await Promise.all(got.map((d) => d.ack()));
      sampleRss();
      if (drained - lastReport >= 100_000) {
        lastReport = drained;
        const s = await tableSizes(admin, `${prefix}queue`);
        onProgress(`churn: ${drained} drained in ${Math.round((performance.now() - started) / 1000)} s, table ${mb(s.tableBytes)} MB, indexes ${mb(s.indexBytes)} MB`);
      }
    }
    await publishing;
    const seconds = (performance.now() - started) / 1000;
    const afterDrain = await tableSizes(admin, `${prefix}queue`);
    await new Promise((r) => setTimeout(r, p.settleMs));
    const afterSettle = await tableSizes(admin, `${prefix}queue`);
    return {
      messages: p.messages, perS: Math.round(p.messages / seconds), seconds: Math.round(seconds * 10) / 10,
      peakRssMb: mb(peakRss), afterDrain, afterSettle, settleMs: p.settleMs, autovacuum,
    };
  } finally {
    await producer.close();
    await consumer.close();
    await admin.end();
  }
}

export function mb(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}
