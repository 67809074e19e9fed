/**
 * Service reports cross processes on the channel each transport already uses
 * for status: SQLite's file (a second transport on it is another process, as
 * far as the table can tell), PostgreSQL's tables (two pools), RabbitMQ's
 * missive.status stream (read by a second connection). A malformed record another client wrote is skipped.
 */
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { postgresTransport, type PostgresTransport } from "../../src/transports/postgres/index.js";
import { StatusStreamWriter } from "../../src/transports/rabbitmq/status-stream-writer.js";
import { dropPrefix, PG_URL, pgPrefix, pgQuery } from "../support/postgres.js";
import { waitFor } from "../support/wait.js";
import { report, roundTrip } from "./service-report-support.js";
import { rabbitmqFixture } from "./rabbitmq-support.js";
import { sqliteFixture } from "./sqlite-support.js";

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
