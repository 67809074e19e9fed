/**
 * The PostgreSQL transport's ack inside the inbox's transaction (docs/transports/postgres.md):
 * the handler's writes, its inbox row and the DELETE of its queue row are
 * one transaction, so they appear (and disappear) together; a handler that
 * throws changes none of them; a lease lost before the commit rolls the
 * effects back with a LeaseLostError.
 */
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { missive, type Delivery } from "../../src/index.js";
import { postgresInbox } from "../../src/stores/postgres/index.js";
import { postgresTransport, type PostgresTransport } from "../../src/transports/postgres/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { dropPrefix, PG_URL, pgPrefix, pgQuery } from "../support/postgres.js";
import { receiveAtLeast } from "../support/receive.js";
import { waitFor } from "../support/wait.js";

const prefixes: string[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const p of prefixes.splice(0)) await dropPrefix(p);
});

async function count(sql: string): Promise<number> {
  return (await pgQuery(`SELECT count(*)::int AS n FROM ${sql}`)).rows[0].n as number;
}

/** A bus on a fresh prefix with the URL's own inbox, and an effects table in the same database. */
async function openBus(prefix: string): Promise<Awaited<ReturnType<typeof missive>>> {
  const bus = await missive({ transport: `${PG_URL}?tablePrefix=${prefix}`, service: "pg-inbox-ack", idempotency: "inbox" });
  cleanups.push(() => bus.close());
  await pgQuery(`CREATE TABLE ${prefix}effects (message_id text NOT NULL)`);
  return bus;
}

/** Who deletes queue rows: an audit row written by the deleting transaction carries that transaction's xid as its xmin. */
async function auditDeletes(prefix: string): Promise<void> {
  await pgQuery(`CREATE TABLE ${prefix}deletes (seq bigint NOT NULL)`);
  await pgQuery(`CREATE FUNCTION ${prefix}audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ${prefix}deletes VALUES (OLD.seq); RETURN OLD; END $$`);
  await pgQuery(`CREATE TRIGGER ${prefix}audit AFTER DELETE ON ${prefix}queue FOR EACH ROW EXECUTE FUNCTION ${prefix}audit()`);
}

function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

describe("postgres transport - ack in the inbox's transaction", () => {
  it("postgres inbox ack - the effect row, the inbox row and the queue row's delete commit in one transaction", async () => {
    const prefix = pgPrefix();
    prefixes.push(prefix);
    const bus = await openBus(prefix);
    await auditDeletes(prefix);
    const inside = gate();
    const release = gate();
    let done = false;
    await bus.consume(OrderPlaced, { group: "billing" }, async (_order, ctx) => {
      await ctx.transaction(async (tx) => {
        await (tx as pg.PoolClient).query(`INSERT INTO ${prefix}effects VALUES ($1)`, [ctx.message.id]);
        inside.open();
        await release.wait;
      });
      done = true;
    }).ready;
    const { id } = await bus.publish(OrderPlaced, { orderId: "o-1", seq: 1, totalCents: 1 });
    await inside.wait;
    // The transaction is open: nothing of it is visible, the queue row is still there.
    expect(await count(`${prefix}effects`)).toBe(0);
    expect(await count(`${prefix}inbox`)).toBe(0);
    expect(await count(`${prefix}queue`)).toBe(1);
    release.open();
    await waitFor(() => done, 10_000, "the handler to finish");
    await waitFor(async () => (await count(`${prefix}queue`)) === 0, 10_000, "the queue row to go");
    const xids = await pgQuery(
      `SELECT (SELECT xmin::text FROM ${prefix}effects WHERE message_id = $1) AS effect,
              (SELECT xmin::text FROM ${prefix}inbox WHERE message_id = $1) AS inbox,
              (SELECT array_agg(xmin::text) FROM ${prefix}deletes) AS deletes`,
      [id],
    );
    const row = xids.rows[0] as { effect: string; inbox: string; deletes: string[] };
    expect(row.effect).toBeDefined();
    expect(row.inbox).toBe(row.effect);
    expect(row.deletes).toEqual([row.effect]);
  });

  it("postgres inbox ack - a handler that never calls ctx.transaction gets its inbox row and its ack in one transaction all the same", async () => {
    const prefix = pgPrefix();
    prefixes.push(prefix);
    const bus = await openBus(prefix);
    await auditDeletes(prefix);
    let handled = 0;
    await bus.consume(OrderPlaced, { group: "billing" }, () => void handled++).ready;
    const { id } = await bus.publish(OrderPlaced, { orderId: "o-1", seq: 1, totalCents: 1 });
    await waitFor(async () => handled === 1 && (await count(`${prefix}queue`)) === 0, 10_000, "the message handled and its row gone");
    const xids = await pgQuery(
      `SELECT (SELECT xmin::text FROM ${prefix}inbox WHERE message_id = $1) AS inbox, (SELECT array_agg(xmin::text) FROM ${prefix}deletes) AS deletes`,
      [id],
    );
    const row = xids.rows[0] as { inbox: string | null; deletes: string[] };
    expect(row.inbox).not.toBeNull();
    expect(row.deletes).toEqual([row.inbox]);
  });

  it("postgres inbox ack - a handler that throws after its write changes none of them, and the delivery is retried", async () => {
    const prefix = pgPrefix();
    prefixes.push(prefix);
    const bus = await openBus(prefix);
    const second = gate();
    const attempts: number[] = [];
    let done = false;
    await bus.consume(OrderPlaced, { group: "billing", retry: { delays: ["100ms"] } }, async (_order, ctx) => {
      attempts.push(ctx.attempt);
      if (ctx.attempt === 2) await second.wait;
      await ctx.transaction(async (tx) => {
        await (tx as pg.PoolClient).query(`INSERT INTO ${prefix}effects VALUES ($1)`, [ctx.message.id]);
        if (ctx.attempt === 1) throw new Error("after the write");
      });
      done = true;
    }).ready;
    await bus.publish(OrderPlaced, { orderId: "o-1", seq: 1, totalCents: 1 });
    await waitFor(() => attempts.length === 2, 15_000, "the second attempt");
    // Between the attempts: the write and the inbox row rolled back, the queue row kept (leased again by attempt 2).
    expect(await count(`${prefix}effects`)).toBe(0);
    expect(await count(`${prefix}inbox`)).toBe(0);
    expect(await count(`${prefix}queue WHERE attempts = 2`)).toBe(1);
    second.open();
    await waitFor(() => done, 10_000, "the second attempt to finish");
    await waitFor(async () => (await count(`${prefix}queue`)) === 0, 10_000, "the queue row to go");
    expect(attempts).toEqual([1, 2]);
    expect(await count(`${prefix}effects`)).toBe(1);
    expect(await count(`${prefix}inbox`)).toBe(1);
  });

  describe("postgres inbox ack - the store and the delivery", () => {
    async function leased(prefix: string): Promise<{ transport: PostgresTransport; delivery: Delivery }> {
      const transport = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix });
      cleanups.push(() => transport.close());
      const sub = await transport.subscribe({ group: "g", topics: ["t"], prefetch: 1, ordered: false, leaseMs: 30_000 });
      await pgQuery(`CREATE TABLE ${prefix}effects (message_id text NOT NULL)`);
      expect(await transport.publish([{ topic: "t", id: "m1", key: "k", wire: { headers: { "ce-id": "m1" }, body: Buffer.from("m1") } }])).toEqual([undefined]);
      const [delivery] = await receiveAtLeast(sub, 1, 10_000);
      if (!delivery) throw new Error("no delivery");
      return { transport, delivery };
    }

    it("postgres inbox ack - a lease lost before the commit rolls the effects and the inbox row back with a LeaseLostError", async () => {
      const prefix = pgPrefix();
      prefixes.push(prefix);
      const { transport, delivery } = await leased(prefix);
      const inbox = postgresInbox({ pool: transport.pool, table: transport.tables.inbox });
      cleanups.push(async () => inbox.close());
      // Another consumer took the row: its lease token is no longer ours.
      await pgQuery(`UPDATE ${prefix}queue SET lease_token = 'someone-else'`);
      const run = inbox.runOnce("g", "m1", delivery, (tx) => tx.query(`INSERT INTO ${prefix}effects VALUES ('m1')`));
      await expect(run).rejects.toMatchObject({ name: "LeaseLostError", code: "MISSIVE_LEASE_LOST" });
      expect(await count(`${prefix}effects`)).toBe(0);
      expect(await count(`${prefix}inbox`)).toBe(0);
      expect(await count(`${prefix}queue WHERE lease_token = 'someone-else'`)).toBe(1);
      // Settled as lost: a later ack is a no-op, not a second delete.
      await delivery.ack();
      expect(await count(`${prefix}queue`)).toBe(1);
    });

    it("postgres inbox ack - an inbox on the transport's pool acks within; one on another pool of the same database leaves the ack to the runtime", async () => {
      const prefix = pgPrefix();
      prefixes.push(prefix);
      const { transport, delivery } = await leased(prefix);
      const other = new pg.Pool({ connectionString: PG_URL, max: 2 });
      cleanups.push(() => other.end());
      const apart = postgresInbox({ pool: other, table: transport.tables.inbox });
      cleanups.push(async () => apart.close());
      const write = (tx: pg.PoolClient): Promise<unknown> => tx.query(`INSERT INTO ${prefix}effects VALUES ('m1')`);
      const first = await apart.runOnce("g", "m1", delivery, write);
      expect(first).toMatchObject({ duplicate: false, acked: false });
      expect(await count(`${prefix}queue`)).toBe(1);

      const same = postgresInbox({ pool: transport.pool, table: transport.tables.inbox });
      cleanups.push(async () => same.close());
      // A second group's row, so the inbox records it afresh.
      const second = await same.runOnce("g2", "m1", delivery, write);
      expect(second).toMatchObject({ duplicate: false, acked: true });
      expect(await count(`${prefix}queue`)).toBe(0);
      expect(await count(`${prefix}effects`)).toBe(2);
      // Settled: the runtime's ack after it is a no-op.
      await delivery.ack();
    });
  });
});
