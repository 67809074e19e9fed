/**
 * `npm run bench`: missive against the raw client doing the same durable work,
 * in the same run, on this machine. Prints msgs/s, ratios and peak RSS, and
 * writes bench/results/latest.json (one object per case).
 *
 *   npm run bench -- [messages=50000]
 *
 * SQLite cases, synchronous=FULL, WAL:
 * - publish: 64 concurrent publishers awaiting each publish (missive groups
 *   them into shared commits) vs raw better-sqlite3 inserting the same rows in
 *   transactions of 64 (the best a raw client can do with 64 callers);
 * - consume+ack: draining that backlog through a consumer (concurrency 64)
 *   vs raw claim (UPDATE … RETURNING) + delete in transactions of 64.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { z } from "zod";
import { defineMessage, missive } from "../src/index.js";
import { sqliteTransport } from "../src/transports/sqlite/index.js";

const total = Number(process.argv[2] ?? 50_000);
const PUBLISHERS = 64;
const Event = defineMessage({ type: "bench.event", schema: z.object({ orderId: z.string(), totalCents: z.number().int(), note: z.string() }) });
const data = { orderId: "4821", totalCents: 15900, note: "x".repeat(64) };

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
const resetRss = (): void => {
  peakRss = process.memoryUsage().rss;
};
const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

interface Row { transport: string; case: string; msgs_per_s: number; raw_msgs_per_s: number; ratio: number; p99_ms: number | null; rss_mb: number }
const rows: Row[] = [];

function rawSqlite(dir: string): { publish(): number; consume(): number } {
  const db = new Database(join(dir, "raw.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("CREATE TABLE q (seq INTEGER PRIMARY KEY AUTOINCREMENT, grp TEXT, topic TEXT, id TEXT, headers TEXT, body BLOB, visible_at INTEGER, attempts INTEGER DEFAULT 0, lease TEXT)");
  db.exec("CREATE INDEX q_claim ON q (grp, visible_at, seq)");
  const insert = db.prepare("INSERT INTO q (grp, topic, id, headers, body, visible_at) VALUES ('g', 'bench.event', ?, ?, ?, 0)");
  const headers = JSON.stringify({ "ce-id": "x", "ce-type": "bench.event", "ce-source": "bench", "ce-specversion": "1.0", "content-type": "application/json" });
  const body = Buffer.from(JSON.stringify(data));
  const insertMany = db.transaction((n: number) => {
    for (let i = 0; i < n; i++) insert.run(`id-${i}`, headers, body);
  });
  const claim = db.prepare("UPDATE q SET visible_at = ?, attempts = attempts + 1, lease = 'l' WHERE seq IN (SELECT seq FROM q WHERE grp = 'g' AND visible_at <= ? ORDER BY visible_at, seq LIMIT 64) RETURNING seq, headers, body");
  const del = db.prepare("DELETE FROM q WHERE seq = ? AND lease = 'l'");
  const claimBatch = db.transaction(() => claim.all(Date.now() + 30_000, Date.now()) as Array<{ seq: number; headers: string; body: Buffer }>);
  const ackBatch = db.transaction((seqs: number[]) => {
    for (const s of seqs) del.run(s);
  });
  return {
    publish() {
      const t0 = performance.now();
      for (let done = 0; done < total; done += PUBLISHERS) insertMany(Math.min(PUBLISHERS, total - done));
      return total / ((performance.now() - t0) / 1000);
    },
    consume() {
      const t0 = performance.now();
      let n = 0;
      for (;;) {
        const batch = claimBatch();
        if (batch.length === 0) break;
        for (const r of batch) JSON.parse(r.headers);
        ackBatch(batch.map((r) => r.seq));
        n += batch.length;
      }
      db.close();
      return n / ((performance.now() - t0) / 1000);
    },
  };
}

async function missiveSqlite(dir: string): Promise<{ publish(): Promise<number>; consume(): Promise<number> }> {
  const transport = sqliteTransport({ path: join(dir, "missive.db") });
  const bus = await missive({ transport, service: "bench" });
  await bus.declare(Event, "g");
  return {
    async publish() {
      let sent = 0;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: PUBLISHERS }, async () => {
        while (sent < total) {
          sent++;
          await bus.publish(Event, data);
        }
      }));
      return total / ((performance.now() - t0) / 1000);
    },
    async consume() {
      let n = 0;
      let resolveDone!: () => void;
      const done = new Promise<void>((r) => (resolveDone = r));
      const t0 = performance.now();
      bus.consume(Event, { group: "g", concurrency: 64, prefetch: 256 }, () => {
        if (++n === total) resolveDone();
      });
      await done;
      const rate = total / ((performance.now() - t0) / 1000);
      await bus.close();
      return rate;
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), "missive-bench-"));
try {
  const raw = rawSqlite(dir);
  resetRss();
  const rawPub = raw.publish();
  const rawCon = raw.consume();
  const m = await missiveSqlite(dir);
  resetRss();
  const pub = await m.publish();
  const pubRss = peakRss;
  resetRss();
  const con = await m.consume();
  const conRss = peakRss;
  rows.push({ transport: "sqlite", case: `publish, ${PUBLISHERS} concurrent publishers, FULL sync`, msgs_per_s: Math.round(pub), raw_msgs_per_s: Math.round(rawPub), ratio: +(pub / rawPub).toFixed(2), p99_ms: null, rss_mb: mb(pubRss) });
  rows.push({ transport: "sqlite", case: "consume+ack, concurrency 64", msgs_per_s: Math.round(con), raw_msgs_per_s: Math.round(rawCon), ratio: +(con / rawCon).toFixed(2), p99_ms: null, rss_mb: mb(conRss) });
} finally {
  clearInterval(sampler);
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\nmissive bench: ${total} messages per case\n`);
console.table(rows.map((r) => ({ transport: r.transport, case: r.case, "msgs/s": r.msgs_per_s, "raw msgs/s": r.raw_msgs_per_s, ratio: r.ratio, "peak RSS MB": r.rss_mb })));
writeFileSync(join(import.meta.dirname, "results", "latest.json"), JSON.stringify(rows, null, 2) + "\n");
console.log("written to bench/results/latest.json");
