/**
 * Service reports cross processes on the channel each transport already uses
 * for status: SQLite's file (a second transport on it is another process, as
 * far as the table can tell), PostgreSQL's tables (two pools), RabbitMQ's
 * missive.status stream (read by a second connection). A malformed record another client wrote is skipped.
 */
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { ServiceReporting } from "../../src/transport/abilities.js";
import { LATENCY_BUCKETS_MS, type ServiceReport } from "../../src/transport/service-report.js";
import { postgresTransport, type PostgresTransport } from "../../src/transports/postgres/index.js";
import { StatusStreamWriter } from "../../src/transports/rabbitmq/status-stream-writer.js";
import { dropPrefix, PG_URL, pgPrefix, pgQuery } from "../support/postgres.js";
import { waitFor } from "../support/wait.js";
import { rabbitmqFixture } from "./rabbitmq-support.js";
import { sqliteFixture } from "./sqlite-support.js";

function report(reporter: string, at: number): ServiceReport {
  const counts = LATENCY_BUCKETS_MS.map(() => 0).concat(0);
  counts[3] = 7;
  const latency = { counts, p50: 10, p95: 10, p99: 10 };
  return {
    v: 1, kind: "service", reporter, service: "billing", host: "h", pid: 42, at, intervalMs: 1000,
    types: [{ group: "g", type: "order.created", processed: 7, failed: 1, processing: latency, age: latency, total: latency, slo: { withinMs: 30_000, target: 0.95 } }],
    groups: [{ group: "g", blockedKeys: [{ key: "o-1", since: at - 500, messageId: "m-1", attempts: 2 }], hotKeys: [{ key: "o-1", waiting: 3, oldestAt: null }] }],
    producer: { broker: "up", breaker: "closed", spool: { messages: 2, bytes: 100, parked: 0, oldestAt: at - 1000 } },
    outboxes: [{ store: "sqlite outbox", table: "missive_outbox", unsent: 5, oldestAgeMs: 1200 }],
  };
}

async function roundTrip(writer: ServiceReporting, reader: ServiceReporting, since: number): Promise<ServiceReport[]> {
  const first = report("r-1", since + 10);
  await writer.writeReport(first);
  await writer.writeReport(report("r-1", since + 20));
  let read: ServiceReport[] = [];
  await waitFor(async () => (read = await reader.readReports(since)).length >= 2, 20_000, "both reports read back");
  expect(read[0]).toEqual(first);
  expect(read.map((r) => r.at)).toEqual([since + 10, since + 20]);
  expect(await reader.readReports(since + 15)).toEqual([report("r-1", since + 20)]);
  return read;
}

describe("service report channel (sqlite)", () => {
  const fx = sqliteFixture();
  it("service report channel (sqlite) - reports written by one transport on the file are read by another; a malformed row is skipped", async () => {
    const writer = fx.open();
    const reader = fx.open();
    const since = Date.now();
    await roundTrip(writer, reader, since);
    const plain = new Database(fx.dbPath());
    plain.prepare("INSERT INTO missive_service_reports (at, reporter, report) VALUES (?, 'x', ?)").run(since + 30, '{"v":1,"kind":"service","reporter":');
    plain.prepare("INSERT INTO missive_service_reports (at, reporter, report) VALUES (?, 'x', ?)").run(since + 31, JSON.stringify({ ...report("r-2", since + 31), pid: -1 }));
    plain.close();
    expect((await reader.readReports(since)).length).toBe(2);
  });
});

describe("service report channel (postgres)", () => {
  const opened: PostgresTransport[] = [];
  let prefix: string | undefined;
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((t) => t.close()));
    if (prefix !== undefined) await dropPrefix(prefix);
    prefix = undefined;
  });
  it("service report channel (postgres) - reports written through one pool are read through another; a malformed row is skipped; old rows are deleted by later writes", async () => {
    prefix = pgPrefix();
    const open = (): PostgresTransport => {
      const t = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix! });
      opened.push(t);
      return t;
    };
    const writer = open();
    const reader = open();
    await writer.connect();
    await reader.connect();
    const since = Date.now();
    await roundTrip(writer, reader, since);
    await pgQuery(`INSERT INTO ${prefix}service_reports (at, reporter, report) VALUES ($1, 'x', '{"v":1')`, [since + 30]);
    await pgQuery(`INSERT INTO ${prefix}service_reports (at, reporter, report) VALUES ($1, 'x', 'nope'), ($2, 'x', $3)`, [since + 31, since - 11 * 60_000, JSON.stringify(report("old", since - 11 * 60_000))]);
    expect((await reader.readReports(0)).map((r) => r.reporter)).toEqual(["old", "r-1", "r-1"]);
    await writer.writeReport(report("r-5", since + 40));
    expect((await reader.readReports(0)).map((r) => r.reporter)).toEqual(["r-1", "r-1", "r-5"]);
  });
});

describe("service report channel (rabbitmq)", () => {
  const fx = rabbitmqFixture();
  it("service report channel (rabbitmq) - reports appended to missive.status by one connection are read by another, beside the other records", async ({ skip }) => {
    if (fx.skip()) return skip();
    const writer = fx.open();
    const reader = fx.open();
    await writer.connect();
    await reader.connect();
    const since = Date.now();
    await roundTrip(writer, reader, since);
    // A record that claims to be a report but is not one (another client on the stream) is skipped.
    const raw = new StatusStreamWriter((writer as unknown as { session: ConstructorParameters<typeof StatusStreamWriter>[0] }).session, true);
    await raw.write([{ ...report("r-3", since + 40), types: "many" }]);
    await raw.close();
    await writer.writeReport(report("r-4", since + 50));
    await waitFor(async () => (await reader.readReports(since)).some((r) => r.reporter === "r-4"), 20_000, "the later report read back");
    expect((await reader.readReports(since)).map((r) => r.reporter)).toEqual(["r-1", "r-1", "r-4"]);
  });
});
