/**
 * `missive dashboard` as a process, over a SQLite transport file whose dead
 * letters are kept in a database table (--dead-letters), as for a broker
 * without a dead-letter store of its own.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missive, PermanentError } from "../../src/index.js";
import { sqliteDeadLetters } from "../../src/stores/sqlite/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { waitFor } from "../support/wait.js";
import { Order, cli, ensureBuilt, start, tempDir, urlOf } from "../cli/helpers.js";

let tmp: ReturnType<typeof tempDir>;
let transportPath: string;
let dlPath: string;

beforeAll(async () => {
  ensureBuilt();
  tmp = tempDir("dashboard-cli");
  transportPath = join(tmp.dir, "t.db");
  dlPath = join(tmp.dir, "dead-letters.db");
  new Database(dlPath).close();
  const migrated = await cli(["migrate", "--url", urlOf(dlPath), "--only", "dead-letters"]);
  expect(migrated.code, migrated.stderr).toBe(0);
  const db = new Database(dlPath);
  const bus = await missive({ service: "dashboard-cli", transport: sqliteTransport({ path: transportPath }), deadLetters: sqliteDeadLetters({ database: db }) });
  try {
    await bus.consume(Order, { group: "billing" }, (o) => {
      throw new PermanentError(`card declined for ${o.orderId}`);
    }).ready;
    for (const orderId of ["o-1", "o-2"]) await bus.publish(Order, { orderId, totalCents: 1 });
    await waitFor(async () => (await bus.deadLetters().count()) === 2, 10_000, "two dead letters in the table");
  } finally {
    await bus.close();
    db.close();
  }
});
afterAll(() => tmp.cleanup());

async function groupsFrom(args: string[]): Promise<{ count: number; pattern: string }[]> {
  return ((await answerFrom(args, "api/groups")) as { groups: { count: number; pattern: string }[] }).groups;
}

async function answerFrom(args: string[], path: string): Promise<unknown> {
  const run = start(["dashboard", "--port", "0", "--url", urlOf(transportPath), ...args]);
  try {
    await waitFor(() => /on http:\/\/127\.0\.0\.1:\d+\//.test(run.stdout()) || run.child.exitCode !== null, 20_000, "the dashboard's address");
    const url = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(run.stdout())?.[1];
    expect(url, run.stderr()).toBeDefined();
    return await (await fetch(`${url}${path}`)).json();
  } finally {
    run.child.kill("SIGTERM");
    const ended = await run.finished;
    expect(ended.code).toBe(0);
    expect(ended.stderr).toBe("");
  }
}

describe("dashboard - cli", () => {
  it("dashboard - cli --dead-letters: the page shows the database table's dead letters, not the transport's own store", async () => {
    expect(await groupsFrom(["--dead-letters", dlPath])).toMatchObject([{ count: 2, pattern: "card declined for <id>" }]);
    expect(await groupsFrom([])).toEqual([]);
  });

  it("dashboard - cli: a bad --replay-rate or --alert-dead-letters, or a missing --dead-letters file is a usage error (exit 2) before anything listens", async () => {
    const rate = await cli(["dashboard", "--replay-rate", "fast", "--url", urlOf(transportPath)]);
    expect(rate.code).toBe(2);
    expect(rate.stderr).toContain("expected a rate like 100/s or 600/m");
    const alert = await cli(["dashboard", "--alert-dead-letters", "0", "--url", urlOf(transportPath)]);
    expect(alert.code).toBe(2);
    expect(alert.stderr).toContain("expected an integer from 1");
    const missing = await cli(["dashboard", "--url", urlOf(transportPath), "--dead-letters", join(tmp.dir, "nope.db")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot open the SQLite file");
    expect(missing.stdout).toBe("");
    const slo = await cli(["dashboard", "--slo", "order.created=most", "--url", urlOf(transportPath)]);
    expect(slo.code).toBe(2);
    expect(slo.stderr).toContain('is not a service level like "95%<30s"');
    const dlq = await cli(["dashboard", "--dlq-alert", "5/fortnight", "--url", urlOf(transportPath)]);
    expect(dlq.code).toBe(2);
    expect(dlq.stderr).toContain("a dead-letter alert is a count (1000) or a count within a window (1000/5m)");
  });

  it("dashboard - cli --slo and --dlq-alert: the levels show in api/services, judged on the services' reports", async () => {
    const answer = (await answerFrom(["--slo", "order.created=95%<30s", "--slo", "refund.issued=99.5%<2m", "--dlq-alert", "1000/5m", "--dlq-alert", "10"], "api/services")) as {
      available: boolean; view: { series: { type: string; slo: { withinMs: number; target: number; from: string } | null }[] };
    };
    expect(answer.available).toBe(true);
    // The file also holds the reports of the bus that made its dead letters (its type, with no level).
    const judged = answer.view.series.filter((s): s is typeof s & { slo: NonNullable<typeof s.slo> } => s.slo !== null);
    expect(judged.map((s) => [s.type, s.slo.withinMs, s.slo.target, s.slo.from])).toEqual([
      ["order.created", 30_000, 0.95, "dashboard"], ["refund.issued", 120_000, 0.995, "dashboard"],
    ]);
  });
});
