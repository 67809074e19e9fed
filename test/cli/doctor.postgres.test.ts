/**
 * `missive doctor` is what a new user runs first, often against a database
 * no missive service has used yet. It used to fail there ("relation
 * missive_queue does not exist") and report nothing; the server's settings
 * are what it is for, so it reports them and says why the transport did not
 * start. A broker that cannot be reached is still an error.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, ensureBuilt, expectCleanError } from "./helpers.js";
import { PG_URL, pgQuery } from "../support/postgres.js";

const database = `missive_doctor_${randomBytes(5).toString("hex")}`;
const freshUrl = (): string => {
  const url = new URL(PG_URL);
  url.pathname = `/${database}`;
  return url.toString();
};

beforeAll(async () => {
  ensureBuilt();
  await pgQuery(`CREATE DATABASE ${database}`);
});
afterAll(async () => {
  await pgQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
});

describe("cli doctor on PostgreSQL", () => {
  it("cli - doctor on a fresh PostgreSQL database (no missive tables yet) reports the server's settings, says why the transport did not start, and changes nothing", async () => {
    const r = await cli(["doctor", "--url", freshUrl()]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("transport: postgresql");
    expect(r.stdout).toMatch(/note: the transport did not start: .*missive_queue.*missive migrate.*\[MISSIVE_CONFIG\]/);
    expect(r.stdout).toContain("fsync: on");
    expect(r.stdout).toContain("synchronous_commit: on");
    expect(r.stdout).toContain("no durability warnings");
    const json = await cli(["doctor", "--json", "--url", freshUrl()]);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as { note?: string; durability: { settings: Record<string, string> } | null };
    expect(doc.note).toContain("missive_queue");
    expect(doc.durability?.settings["fsync"]).toBe("on");
    // Read-only: doctor made no table.
    const client = new pg.Client({ connectionString: freshUrl() });
    await client.connect();
    try {
      const tables = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
      expect(tables.rows[0]?.n).toBe(0);
    } finally {
      await client.end();
    }
  });

  it("cli - doctor against a PostgreSQL server that cannot be reached fails with the connection error", async () => {
    const r = await cli(["doctor", "--url", "postgres://postgres@127.0.0.1:1/test"]);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBe(3);
    expect(r.stdout).toBe("");
    expectCleanError(r.stderr);
  });
});
