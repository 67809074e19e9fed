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
  const run = start(["dashboard", "--port", "0", "--url", urlOf(transportPath), ...args]);
  try {
    await waitFor(() => /on http:\/\/127\.0\.0\.1:\d+\//.test(run.stdout()) || run.child.exitCode !== null, 20_000, "the dashboard's address");
    const url = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(run.stdout())?.[1];
    expect(url, run.stderr()).toBeDefined();
    return ((await (await fetch(`${url}api/groups`)).json()) as { groups: { count: number; pattern: string }[] }).groups;
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
  });
});
