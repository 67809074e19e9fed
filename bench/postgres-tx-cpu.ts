/**
 * Transactional publish, the load-robust figure: client CPU + PostgreSQL
 * server CPU per transaction, on a private cluster (initdb into a temporary
 * directory, a free loopback port: test/support/broker-process.ts), so no
 * other client's work is counted. The server's CPU is the sum of utime and
 * stime (and the reaped children's) of the postmaster and its children, read from /proc before and after. Rounds alternate the plain INSERT
 * and publishIn (bench/cases/postgres-tx.ts' transactions: an order row, then
 * the message; keyed by the order id, notify on, 8 clients), then the wake
 * latency of a transactional publish: commit → the receive returning, on a
 * subscription of the publishing transport (this process's wake) and on a
 * second transport whose consumer polls once a minute (another process's
 * wake: its NOTIFY alone). looksPerTx: the commit-wake's statements per
 * transaction (each costs a round trip: about 150 µs of client and 130 µs of
 * server CPU here).
 *
 *   npx tsx bench/postgres-tx-cpu.ts [transactions=2000] [rounds=3] [concurrency=8] [wakes=200]
 */
import { readdirSync, readFileSync } from "node:fs";
import type pg from "pg";
import { uuidv7 } from "../src/envelope/uuidv7.js";
import { postgresTransport } from "../src/transports/postgres/index.js";
import { startBroker } from "../test/support/broker-process.js";
import { TOPIC, txHeaders as headers } from "./cases/postgres-tx.js";

const transactions = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 3);
const concurrency = Number(process.argv[4] ?? 8);
const wakes = Number(process.argv[5] ?? 200);
const keyed = !process.env["NOKEY"];
const TICK_US = 1e6 / 100; // USER_HZ on Linux

/** CPU µs of the cluster: the postmaster and its children (backends, background workers), exited ones included. */
function groupCpuUs(postmaster: number): number {
  let ticks = 0;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue;
    }
    // Fields after the command (which may hold spaces) in parentheses.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // PostgreSQL's children each call setsid(): the cluster is the postmaster and its children, not a process group.
    if (Number(name) !== postmaster && Number(f[1]) !== postmaster) continue;
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return ticks * TICK_US;
}

const server = await startBroker("postgres");
const pgid = server.pid!;
const body = Buffer.from(JSON.stringify({ orderId: "4821", totalCents: 15900 }));
let n = 0;

async function run(mode: "plain" | "publishIn"): Promise<{ client: number; server: number; perS: number; looksPerTx: number }> {
  const prefix = `b${n++}_`;
  const transport = postgresTransport({ connectionString: server.url, tablePrefix: prefix, notify: true, poolMax: concurrency + 1 });
  const pool = transport.pool;
  // The commit-wake's looks (commit-wake.ts: its prepared statement's name ends in _look) go through pool.query.
  let looks = 0;
  const poolQuery = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const config = args[0] as { name?: unknown } | undefined;
    if (typeof config === "object" && typeof config.name === "string" && config.name.endsWith("_look")) looks++;
    return poolQuery(...args);
  };
  const publish = mode === "publishIn"
    ? async (client: pg.PoolClient, id: string): Promise<void> => {
        const [r] = await transport.publishIn(client, [{ topic: TOPIC, id, key: keyed ? id : undefined, wire: { headers: headers(id), body } }]);
        if (r) throw r;
      }
    : async (client: pg.PoolClient, id: string): Promise<void> => {
        await client.query(`INSERT INTO ${prefix}plain (group_name, topic, message_id, key, headers, body) VALUES ($1, $2, $3, $4, $5, $6)`, ["billing", TOPIC, id, keyed ? id : null, JSON.stringify(headers(id)), body]);
      };
  try {
    await transport.bind("billing", [TOPIC]);
    await pool.query(`CREATE TABLE ${prefix}orders (id TEXT PRIMARY KEY, total_cents INT NOT NULL)`);
    await pool.query(`CREATE TABLE ${prefix}plain (seq BIGSERIAL PRIMARY KEY, group_name TEXT NOT NULL, topic TEXT NOT NULL, message_id TEXT NOT NULL, key TEXT, headers TEXT NOT NULL, body BYTEA NOT NULL, visible_at BIGINT NOT NULL DEFAULT 0)`);
    const clients = await Promise.all(Array.from({ length: concurrency }, () => pool.connect()));
    let started = 0;
    const s0 = groupCpuUs(pgid);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(clients.map(async (client) => {
      while (started < transactions) {
        started++;
        const id = uuidv7();
        await client.query("BEGIN");
        await client.query(`INSERT INTO ${prefix}orders (id, total_cents) VALUES ($1, $2)`, [id, 15900]);
        await publish(client, id);
        await client.query("COMMIT");
      }
    }));
    const ms = performance.now() - t0;
    // The commit-wake's last looks belong to these transactions.
    await new Promise((r) => setTimeout(r, 100));
    const c = process.cpuUsage(c0);
    const s = groupCpuUs(pgid) - s0;
    for (const client of clients) client.release();
    return { client: (c.user + c.system) / transactions, server: s / transactions, perS: Math.round(transactions / (ms / 1000)), looksPerTx: looks / transactions };
  } finally {
    await transport.close();
  }
}

async function wakeLatency(): Promise<{ same: number[]; other: number[] }> {
  const prefix = `w${n++}_`;
  const publisher = postgresTransport({ connectionString: server.url, tablePrefix: prefix, notify: true });
  const other = postgresTransport({ connectionString: server.url, tablePrefix: prefix, notify: true, pollMinMs: 60_000, pollMaxMs: 60_000 });
  try {
    const subSame = await publisher.subscribe({ group: "same", topics: [TOPIC], prefetch: 10, ordered: false, leaseMs: 5_000 });
    const subOther = await other.subscribe({ group: "other", topics: [TOPIC], prefetch: 10, ordered: false, leaseMs: 5_000 });
    await subSame.receive(10, 50);
    await subOther.receive(10, 50);
    const client = await publisher.pool.connect();
    const same: number[] = [];
    const oth: number[] = [];
    for (let i = 0; i < wakes; i++) {
      const id = uuidv7();
      await client.query("BEGIN");
      await publisher.publishIn(client, [{ topic: TOPIC, id, key: keyed ? id : undefined, wire: { headers: headers(id), body } }]);
      const a = subSame.receive(1, 5_000);
      const b = subOther.receive(1, 5_000);
      await client.query("COMMIT");
      const t0 = performance.now();
      await Promise.all([
        a.then(async (d) => { same.push(performance.now() - t0); for (const x of d) await x.ack(); }),
        b.then(async (d) => { oth.push(performance.now() - t0); for (const x of d) await x.ack(); }),
      ]);
      await new Promise((r) => setTimeout(r, 5));
    }
    client.release();
    await subSame.close();
    await subOther.close();
    return { same, other: oth };
  } finally {
    await other.close();
    await publisher.close();
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 100) / 100;
}

try {
  await run("publishIn"); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const mode of ["plain", "publishIn"] as const) {
      const x = await run(mode);
      console.log(JSON.stringify({ round: r, mode, clientUsPerTx: Math.round(x.client), serverUsPerTx: Math.round(x.server), totalUsPerTx: Math.round(x.client + x.server), looksPerTx: Math.round(x.looksPerTx * 1000) / 1000, perS: x.perS }));
    }
  }
  if (wakes > 0) {
    const w = await wakeLatency();
    console.log(JSON.stringify({ wake: "same process", p50ms: pct(w.same, 0.5), p90ms: pct(w.same, 0.9), p99ms: pct(w.same, 0.99) }));
    console.log(JSON.stringify({ wake: "other process", p50ms: pct(w.other, 0.5), p90ms: pct(w.other, 0.9), p99ms: pct(w.other, 0.99) }));
  }
} finally {
  await server.stop();
}
