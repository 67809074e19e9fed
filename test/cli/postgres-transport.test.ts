/** The operator commands on a postgres:// transport URL: migrate --only transport, queues, doctor, dlq. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresTransport } from "../../src/transports/postgres/index.js";
import { dropPrefix, PG_URL, pgPrefix, pgQuery } from "../support/postgres.js";
import { cli, ensureBuilt } from "./helpers.js";

const prefix = pgPrefix();
const url = `${PG_URL}?tablePrefix=${prefix}`;

beforeAll(() => ensureBuilt());
afterAll(() => dropPrefix(prefix));

describe("cli on the postgres transport", () => {
  it("cli postgres - before migrate the commands refuse (nothing created); migrate --only transport makes the tables, twice is fine", async () => {
    const before = await cli(["queues", "--url", url]);
    expect(before.code).not.toBe(0);
    expect(before.stderr).toContain("missive migrate");
    const tables = await pgQuery(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename LIKE $1`, [`${prefix}%`]);
    expect(tables.rows[0].n).toBe(0);
    for (let i = 0; i < 2; i++) {
      const r = await cli(["migrate", "--url", PG_URL, "--only", "transport", "--table-prefix", prefix, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ dialect: "postgres", transport: prefix });
    }
    const printed = await cli(["migrate", "--url", PG_URL, "--only", "transport", "--table-prefix", prefix, "--print"]);
    expect(printed.stdout).toContain(`CREATE TABLE IF NOT EXISTS ${prefix}queue`);
  });

  it("cli postgres - queues shows a group's depth; doctor reads the server's settings and says what a commit means", async () => {
    const t = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix });
    try {
      await t.bind("billing", ["order.placed"]);
      await t.publish([{ topic: "order.placed", id: "m1", key: undefined, wire: { headers: { "ce-id": "m1" }, body: Buffer.from("{}") } }]);
    } finally {
      await t.close();
    }
    const queues = await cli(["queues", "--url", url, "--json"]);
    expect(queues.code, queues.stderr).toBe(0);
    expect(queues.stdout).toContain("billing");
    expect(queues.stdout).toMatch(/"depth":\s*1/);
    const doctor = await cli(["doctor", "--url", url]);
    const fsync = String((await pgQuery("SHOW fsync")).rows[0].fsync);
    const sync = String((await pgQuery("SHOW synchronous_commit")).rows[0].synchronous_commit);
    expect(doctor.stdout).toContain(`fsync: ${fsync}`);
    expect(doctor.stdout).toContain(`synchronous_commit: ${sync}`);
    expect(doctor.stdout).toContain("full_page_writes:");
    // Exit 3 exactly when the server's settings can lose a confirmed message.
    expect(doctor.code).toBe(fsync === "off" || sync === "off" ? 3 : 0);
  });
});
