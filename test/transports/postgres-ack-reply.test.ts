/**
 * An ack batch answers with one row (how many rows it deleted, and which only when fewer than asked), not a row per
 * deleted row. Regression: the first version answered NULL for "which" when none of the batch was deleted (array_agg
 * over no rows), read as "all kept", so a lost lease's ack resolved instead of rejecting with LeaseLostError.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { OutgoingMessage } from "../../src/index.js";
import { postgresTransport, type PostgresTransport } from "../../src/transports/postgres/index.js";
import { QueueStore, type LeaseRef } from "../../src/transports/postgres/queue-store.js";
import { dropPrefix, PG_URL, pgPrefix } from "../support/postgres.js";

const opened: PostgresTransport[] = [];
const prefixes: string[] = [];

afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
  for (const p of prefixes.splice(0)) await dropPrefix(p);
});

const message = (i: number, key?: string): OutgoingMessage => ({ topic: "t", id: `m-${i}`, key, wire: { headers: { "ce-id": `m-${i}` }, body: Buffer.from(String(i)) } });

async function setUp(notify: boolean): Promise<{ store: QueueStore; leases: LeaseRef[] }> {
  const prefix = pgPrefix();
  prefixes.push(prefix);
  const t = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix, poolMax: 2, notify });
  opened.push(t);
  await t.bind("g", ["t"]);
  expect(await t.publish([message(0), message(1, "k1"), message(2), message(3, "k3")])).toEqual([undefined, undefined, undefined, undefined]);
  const store = new QueueStore(t.pool, prefix, 1 << 20, notify, () => {});
  const claim = await store.claim("g", false, 10, 60_000);
  expect(claim.rows.length).toBe(4);
  return { store, leases: claim.rows.map((r) => ({ seq: r.seq, token: claim.token, group: "g", key: r.key ?? undefined })) };
}

describe("postgres - ack batch replies", () => {
  for (const notify of [false, true]) {
    it(`postgres - ackMany says per lease which were deleted: all, some, none (notify ${notify})`, async () => {
      const { store, leases } = await setUp(notify);
      const stale = (l: LeaseRef): LeaseRef => ({ ...l, token: "someone-else" });
      // None held: every answer false (the case the NULL reply got wrong).
      expect(await store.ackMany([stale(leases[0]!), stale(leases[1]!)])).toEqual([false, false]);
      // Some held, keyed and unkeyed mixed.
      expect(await store.ackMany([leases[0]!, stale(leases[1]!), leases[3]!])).toEqual([true, false, true]);
      // All held.
      expect(await store.ackMany([leases[1]!, leases[2]!])).toEqual([true, true]);
      // Already deleted: none.
      expect(await store.ackMany([leases[0]!])).toEqual([false]);
    });
  }
});
