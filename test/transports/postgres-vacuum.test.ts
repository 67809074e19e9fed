/**
 * The queue table vacuumed by its consumers (src/transports/postgres/vacuum.ts):
 * after `vacuumEvery` acked rows the transport runs VACUUM on the queue table;
 * with 0 it never does. The shared server runs with autovacuum off, so every
 * vacuum counted on the table is the transport's.
 */
import { afterEach, describe, expect, it } from "vitest";
import { postgresTransport, type PostgresTransport } from "../../src/transports/postgres/index.js";
import { dropPrefix, PG_URL, pgPrefix, pgQuery } from "../support/postgres.js";
import { sleep, waitFor } from "../support/wait.js";

const opened: PostgresTransport[] = [];
const prefixes: string[] = [];

afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
  for (const p of prefixes.splice(0)) await dropPrefix(p);
});

async function vacuums(prefix: string): Promise<number> {
  const r = await pgQuery(`SELECT vacuum_count + autovacuum_count AS n FROM pg_stat_user_tables WHERE relname = $1`, [`${prefix}queue`]);
  return Number(r.rows[0]?.n ?? 0);
}

/** Publish and ack `count` messages through one transport with `vacuumEvery`; the prefix. */
async function churn(count: number, vacuumEvery: number): Promise<string> {
  const prefix = pgPrefix();
  prefixes.push(prefix);
  const t = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix, vacuumEvery });
  opened.push(t);
  await t.bind("g", ["t"]);
  const batch = Array.from({ length: count }, (_, i) => ({ topic: "t", id: `m${i}`, key: undefined, wire: { headers: { "ce-id": `m${i}` }, body: Buffer.from("x") } }));
  expect((await t.publish(batch)).every((r) => r === undefined)).toBe(true);
  const sub = await t.subscribe({ group: "g", topics: ["t"], prefetch: 100, ordered: false, leaseMs: 30_000 });
  let acked = 0;
  while (acked < count) {
    const got = await sub.receive(100, 5_000);
    await Promise.all(got.map((d) => d.ack()));
    acked += got.length;
  }
  return prefix;
}

describe("postgres transport - queue vacuum", () => {
  it("postgres transport - after vacuumEvery acked rows the transport vacuums the queue table", async () => {
    const prefix = await churn(300, 100);
    await waitFor(async () => {
      await sleep(100);
      return (await vacuums(prefix)) >= 1;
    }, 20_000, "a vacuum of the queue table");
    expect(await vacuums(prefix)).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it("postgres transport - vacuumEvery 0 leaves the queue table to autovacuum", async () => {
    const prefix = await churn(300, 0);
    await sleep(1_000);
    expect(await vacuums(prefix)).toBe(0);
  }, 60_000);
});
