/**
 * Outbox cases (SQLite app database, WAL, synchronous=FULL; the SQLite
 * transport as the broker, or RabbitMQ when `url` is given: a vhost of the
 * run's own). Each runs in a child process of its own (bench/child.ts).
 *
 * - naive: what code without an outbox does: commit the business write,
 *   then `bus.publish` and await its confirm (a crash between the two loses
 *   the message; that is the point of the outbox).
 * - outbox: the business write and `outbox.add` in one transaction; a relay
 *   in the same process publishes to the transport. Throughput counts until
 *   the relay has confirmed every row; relay lag is confirm time − the
 *   message's `ce-time` (set at add), per message.
 *
 * Both run `writers` concurrent writers (each commit is one fsync).
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { missive, type Transport } from "../src/index.js";
import { sqliteOutbox } from "../src/stores/sqlite/index.js";
import { sqliteTransport } from "../src/transports/sqlite/index.js";
import { BenchEvent, eventData, GROUP } from "./cases/event.js";
import { percentile } from "./lib/latency.js";
import { RssSampler } from "./lib/rss-sampler.js";

export interface OutboxBenchParams {
  readonly dir: string;
  readonly messages: number;
  readonly writers: number;
  /** amqp:// URL of the run's vhost: publish to RabbitMQ instead of the SQLite transport. */
  readonly url?: string;
  /** The group bound to the bench type (its queue on RabbitMQ). Default GROUP. */
  readonly group?: string;
}

export interface OutboxBenchResult {
  readonly perS: number;
  readonly rssMb: number;
  /** Relay lag (add → confirm), outbox case only. */
  readonly lagP50: number | null;
  readonly lagP99: number | null;
  readonly lagMax: number | null;
}

function appDatabase(dir: string): Database.Database {
  const db = new Database(join(dir, "app.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, order_id TEXT NOT NULL, total_cents INTEGER NOT NULL)");
  return db;
}

/** The broker (a SQLite file, or RabbitMQ at `url`) with the bench group bound, so publishes are routable. */
async function broker(p: OutboxBenchParams): Promise<Transport> {
  // RabbitMQ's client is loaded only by the RabbitMQ cases.
  const t = p.url === undefined ? sqliteTransport({ path: join(p.dir, "broker.db") }) : (await import("../src/transports/rabbitmq/index.js")).rabbitmqTransport({ url: p.url });
  await t.connect();
  await t.bind(p.group ?? GROUP, [BenchEvent.type]);
  return t;
}

async function writers(n: number, count: number, write: (i: number) => Promise<void> | void, rss: RssSampler): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < count) {
      const i = next++;
      await write(i);
      if (i % 64 === 0) rss.sample();
    }
  }));
}

export async function outboxNaive(p: OutboxBenchParams): Promise<OutboxBenchResult> {
  const db = appDatabase(p.dir);
  const bus = await missive({ service: "bench", transport: await broker(p) });
  const insert = db.prepare("INSERT INTO orders (order_id, total_cents) VALUES (?, ?)");
  const rss = new RssSampler();
  const t0 = performance.now();
  await writers(p.writers, p.messages, async (i) => {
    const data = { ...eventData(Date.now()), orderId: `o-${i}` };
    db.transaction(() => insert.run(data.orderId, data.totalCents))();
    await bus.publish(BenchEvent, data);
  }, rss);
  const ms = performance.now() - t0;
  await bus.close();
  db.close();
  return { perS: Math.round(p.messages / (ms / 1000)), rssMb: rss.peakMb, lagP50: null, lagP99: null, lagMax: null };
}

export async function outboxRelay(p: OutboxBenchParams): Promise<OutboxBenchResult> {
  const db = appDatabase(p.dir);
  const outbox = sqliteOutbox({ database: db, source: "bench" });
  outbox.migrate();
  const inner = await broker(p);
  const lags: number[] = [];
  let confirmed = 0;
  let allConfirmed: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allConfirmed = resolve));
  // The transport, recording each message's add → confirm time.
  const transport: Transport = Object.assign(Object.create(null) as object, {
    name: inner.name,
    capabilities: inner.capabilities,
    connect: () => inner.connect(),
    bind: inner.bind.bind(inner),
    subscribe: inner.subscribe.bind(inner),
    close: () => inner.close(),
    async publish(batch: Parameters<Transport["publish"]>[0]) {
      const results = await inner.publish(batch);
      const now = Date.now();
      for (const m of batch) lags.push(now - Date.parse(m.wire.headers["ce-time"]!));
      confirmed += batch.length;
      if (confirmed >= p.messages) allConfirmed();
      return results;
    },
  }) as Transport;
  const relay = outbox.relay({ transport });
  const insert = db.prepare("INSERT INTO orders (order_id, total_cents) VALUES (?, ?)");
  const rss = new RssSampler();
  const t0 = performance.now();
  await writers(p.writers, p.messages, (i) => {
    const data = { ...eventData(Date.now()), orderId: `o-${i}` };
    db.transaction(() => {
      insert.run(data.orderId, data.totalCents);
      outbox.add(db, BenchEvent, data);
    })();
    // Writers yield between transactions, as request handlers would.
    return new Promise<void>((r) => setImmediate(r));
  }, rss);
  await done;
  const ms = performance.now() - t0;
  rss.sample();
  await relay.stop();
  await inner.close();
  db.close();
  lags.sort((a, b) => a - b);
  return { perS: Math.round(p.messages / (ms / 1000)), rssMb: rss.peakMb, lagP50: percentile(lags, 50), lagP99: percentile(lags, 99), lagMax: lags.at(-1) ?? null };
}
