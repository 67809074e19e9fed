/**
 * The PostgreSQL transport beyond the seam and bus suites: its shipped SQL,
 * publishing inside the caller's transaction, rows committed out of order,
 * polling without NOTIFY, and its URL.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { missive, type OutgoingMessage } from "../../src/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { waitFor } from "../support/wait.js";
import { parsePostgresUrl, postgresTransport, renderTransportSql, type PostgresTransport } from "../../src/transports/postgres/index.js";
import { KEY_LOCK_BUCKETS, renderTransportMigrations } from "../../src/transports/postgres/schema.js";
import { dropPrefix, PG_URL, pgPrefix, pgQuery } from "../support/postgres.js";
import { receiveAtLeast } from "../support/receive.js";

const opened: PostgresTransport[] = [];
const prefixes: string[] = [];

function open(options: { notify?: boolean; migrate?: boolean; prefix?: string } = {}): PostgresTransport {
  const prefix = options.prefix ?? pgPrefix();
  if (!prefixes.includes(prefix)) prefixes.push(prefix);
  const t = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix, ...(options.notify === undefined ? {} : { notify: options.notify }), ...(options.migrate === undefined ? {} : { migrate: options.migrate }) });
  opened.push(t);
  return t;
}

function message(topic: string, id: string, key?: string): OutgoingMessage {
  return { topic, id, key, wire: { headers: { "ce-id": id }, body: Buffer.from(id) } };
}

afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
  for (const p of prefixes.splice(0)) await dropPrefix(p);
});

describe("postgres transport", () => {
  it("postgres transport - a batch's headers and bodies arrive byte for byte (non-ASCII headers, binary and empty bodies, one topic bound to two groups), one message alone too", async () => {
    const t = open();
    await t.connect();
    const a = await t.subscribe({ group: "ga", topics: ["fan"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    const b = await t.subscribe({ group: "gb", topics: ["fan"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    const sent: OutgoingMessage[] = [
      { topic: "fan", id: "1", key: undefined, wire: { headers: { "ce-id": "1", note: "été 🚀 \"quoted\" \\ back" }, body: Buffer.from([0, 255, 1, 254, 92, 34]) } },
      { topic: "fan", id: "2", key: "k", wire: { headers: { "ce-id": "2" }, body: new Uint8Array(0) } },
      { topic: "fan", id: "3", key: undefined, wire: { headers: { "ce-id": "3", "x-ü": "ø".repeat(300) }, body: Buffer.from("{\"a\":\"ß\"}") } },
    ];
    expect(await t.publish(sent)).toEqual([undefined, undefined, undefined]);
    expect(await t.publish([sent[0]!])).toEqual([undefined]);
    for (const sub of [a, b]) {
      const got = await receiveAtLeast(sub, 4);
      expect(got.map((d) => ({ headers: d.wire.headers, body: Buffer.from(d.wire.body).toString("hex") }))).toEqual(
        [...sent, sent[0]!].map((m) => ({ headers: m.wire.headers, body: Buffer.from(m.wire.body).toString("hex") })),
      );
    }
  });

  it("postgres transport - a batch with no key and no named group (the lean statement): each message routed or unroutable by its own topic, fanned out in publish order, byte for byte", async () => {
    const t = open();
    await t.connect();
    const a = await t.subscribe({ group: "ga", topics: ["fan", "solo"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    const b = await t.subscribe({ group: "gb", topics: ["fan"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    const sent: OutgoingMessage[] = [
      { topic: "fan", id: "1", key: undefined, wire: { headers: { "ce-id": "1", note: "été 🚀 \"quoted\"" }, body: Buffer.from([0, 255, 1]) } },
      message("nobody", "2"),
      message("solo", "3"),
      { topic: "fan", id: "4", key: undefined, wire: { headers: { "ce-id": "4" }, body: new Uint8Array(0) } },
      message("nobody.either", "5"),
      message("fan", "6"),
    ];
    const results = await t.publish(sent);
    expect(results.map((r) => (r === undefined ? "ok" : (r as { code?: string }).code))).toEqual(["ok", "MISSIVE_UNROUTABLE", "ok", "ok", "MISSIVE_UNROUTABLE", "ok"]);
    const ids = async (g: string): Promise<string[]> => (await pgQuery(`SELECT message_id FROM ${t.tables.queue} WHERE group_name = $1 ORDER BY seq`, [g])).rows.map((r: { message_id: string }) => r.message_id);
    expect(await ids("ga")).toEqual(["1", "3", "4", "6"]);
    expect(await ids("gb")).toEqual(["1", "4", "6"]);
    const got = await receiveAtLeast(a, 4);
    expect(got.map((d) => ({ topic: d.topic, headers: d.wire.headers, body: Buffer.from(d.wire.body).toString("hex") }))).toEqual(
      [sent[0]!, sent[2]!, sent[3]!, sent[5]!].map((m) => ({ topic: m.topic, headers: m.wire.headers, body: Buffer.from(m.wire.body).toString("hex") })),
    );
    expect((await receiveAtLeast(b, 3)).map((d) => d.wire.headers["ce-id"])).toEqual(["1", "4", "6"]);

    // The same statement in the caller's transaction: its rows come and go with it, and its commit wakes the groups.
    const client = await t.pool.connect();
    try {
      for (const end of ["ROLLBACK", "COMMIT"]) {
        await client.query("BEGIN");
        const results = await t.publishIn(client, [message("fan", `${end}-1`), message("nobody", `${end}-2`), message("fan", `${end}-3`)]);
        expect(results.map((r) => (r === undefined ? "ok" : (r as { code?: string }).code))).toEqual(["ok", "MISSIVE_UNROUTABLE", "ok"]);
        await client.query(end);
      }
    } finally {
      client.release();
    }
    expect((await receiveAtLeast(b, 2)).map((d) => d.wire.headers["ce-id"])).toEqual(["COMMIT-1", "COMMIT-3"]);
    expect(await ids("gb")).toEqual(["1", "4", "6", "COMMIT-1", "COMMIT-3"]);
  });

  it("postgres transport - one message alone: routed by its topic (to every bound group, keyed or not) or to the group it names, else unroutable", async () => {
    const t = open();
    await t.connect();
    await t.bind("ga", ["fan"]);
    await t.bind("gb", ["fan"]);
    expect(await t.publish([message("fan", "1", "k")])).toEqual([undefined]);
    expect(await t.publish([message("fan", "2")])).toEqual([undefined]);
    expect(await t.publish([{ ...message("elsewhere", "3"), group: "gb" }])).toEqual([undefined]);
    expect(await t.publish([message("nobody", "4")])).toEqual([expect.objectContaining({ code: "MISSIVE_UNROUTABLE" })]);
    expect(await t.publish([{ ...message("fan", "5"), group: "missing" }])).toEqual([expect.objectContaining({ code: "MISSIVE_UNROUTABLE" })]);
    const { rows } = await pgQuery(`SELECT group_name, message_id, key, blocked FROM ${t.tables.queue} ORDER BY group_name, seq`);
    expect(rows).toEqual([
      { group_name: "ga", message_id: "1", key: "k", blocked: false },
      { group_name: "ga", message_id: "2", key: null, blocked: false },
      { group_name: "gb", message_id: "1", key: "k", blocked: false },
      { group_name: "gb", message_id: "2", key: null, blocked: false },
      { group_name: "gb", message_id: "3", key: null, blocked: false },
    ]);
  });

  it("postgres transport - sql/postgres/004_transport.sql, 005_key_trigger.sql and 006_key_lock_buckets.sql are what the transport runs; renamed and run in order they make working tables", async () => {
    const migrations = renderTransportMigrations("missive_");
    expect(migrations.map((m) => m.file)).toEqual(["004_transport.sql", "005_key_trigger.sql", "006_key_lock_buckets.sql"]);
    const shipped = migrations.map((m) => readFileSync(join(process.cwd(), "sql", "postgres", m.file), "utf8"));
    expect(shipped).toEqual(migrations.map((m) => m.sql));
    // `missive migrate --only transport --print` shows the files in order.
    expect(renderTransportSql("missive_")).toBe(shipped.join("\n"));
    const prefix = pgPrefix();
    prefixes.push(prefix);
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      for (const sql of shipped) await client.query(sql.split("missive_").join(prefix));
      // 005 replaced 004's key trigger function: no sequence lookup per keyed row.
      const fn = await client.query<{ def: string }>(`SELECT pg_get_functiondef('${prefix}queue_block_key'::regproc) AS def`);
      expect(fn.rows[0]?.def).toContain(`nextval('${prefix}queue_seq_seq'::regclass)`);
      expect(fn.rows[0]?.def).not.toContain("pg_get_serial_sequence");
      // 006 replaced both key trigger functions: they lock the key's hash bucket (a bounded number of locks per transaction).
      for (const name of ["queue_block_key", "queue_unblock_key"]) {
        const def = await client.query<{ def: string }>(`SELECT pg_get_functiondef('${prefix}${name}'::regproc) AS def`);
        expect(def.rows[0]?.def).toContain(`& ${KEY_LOCK_BUCKETS - 1})`);
      }
    } finally {
      await client.end();
    }
    const t = open({ prefix, migrate: false });
    await t.connect();
    const sub = await t.subscribe({ group: "g", topics: ["a"], prefetch: 5, ordered: true, leaseMs: 5_000 });
    expect(await t.publish([message("a", "1", "k"), message("a", "2", "k")])).toEqual([undefined, undefined]);
    const first = await receiveAtLeast(sub, 1);
    // The key's second message waits for its head: the shipped triggers keep key order.
    expect(first.map((d) => d.wire.headers["ce-id"])).toEqual(["1"]);
    await first[0]!.ack();
    const second = await receiveAtLeast(sub, 1);
    expect(second.map((d) => d.wire.headers["ce-id"])).toEqual(["2"]);
  });

  it("postgres transport - migrate=false on a database without the tables fails connect with a ConfigurationError naming missive migrate", async () => {
    const t = open({ migrate: false });
    await expect(t.connect()).rejects.toMatchObject({ code: "MISSIVE_CONFIG", message: expect.stringContaining("missive migrate") });
  });

  it("postgres transport - publishIn: messages are visible at the caller's commit and never after a rollback", async () => {
    const t = open();
    await t.connect();
    const sub = await t.subscribe({ group: "g", topics: ["a"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    const client = await t.pool.connect();
    try {
      await client.query("BEGIN");
      expect(await t.publishIn(client, [message("a", "rolled-back")])).toEqual([undefined]);
      await client.query("ROLLBACK");
      await client.query("BEGIN");
      await client.query(`CREATE TEMP TABLE effects (id text) ON COMMIT DROP`);
      expect(await t.publishIn(client, [message("a", "committed")])).toEqual([undefined]);
      // Not visible before the commit.
      expect(await sub.receive(10, 300)).toEqual([]);
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    const got = await receiveAtLeast(sub, 1);
    expect(got.map((d) => d.wire.headers["ce-id"])).toEqual(["committed"]);
    expect(await sub.receive(10, 300)).toEqual([]);
  });

  it("postgres transport - a row committed after a later one (lower seq, later commit) is still delivered, never skipped", async () => {
    const t = open();
    await t.connect();
    const sub = await t.subscribe({ group: "g", topics: ["a"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    const client = await t.pool.connect();
    try {
      await client.query("BEGIN");
      await t.publishIn(client, [message("a", "early-seq-late-commit")]);
      await t.publish([message("a", "late-seq-early-commit")]);
      const before = await receiveAtLeast(sub, 1);
      expect(before.map((d) => d.wire.headers["ce-id"])).toEqual(["late-seq-early-commit"]);
      await before[0]!.ack();
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    const after = await receiveAtLeast(sub, 1);
    expect(after.map((d) => d.wire.headers["ce-id"])).toEqual(["early-seq-late-commit"]);
  });

  it("postgres transport - notify=false: a consumer in another transport finds new rows by polling", async () => {
    const prefix = pgPrefix();
    const consumer = open({ prefix, notify: false });
    const producer = open({ prefix, notify: false });
    const sub = await consumer.subscribe({ group: "g", topics: ["a"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    const waiting = sub.receive(10, 5_000);
    await new Promise((r) => setTimeout(r, 200));
    await producer.publish([message("a", "polled")]);
    const got = await waiting;
    expect(got.map((d) => d.wire.headers["ce-id"])).toEqual(["polled"]);
  });

  it("postgres transport - NOTIFY wakes a consumer in another transport at once, well before its fallback poll", async () => {
    const prefix = pgPrefix();
    const consumer = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix, pollMinMs: 5_000, pollMaxMs: 5_000 });
    opened.push(consumer);
    prefixes.push(prefix);
    const producer = open({ prefix });
    const sub = await consumer.subscribe({ group: "g", topics: ["a"], prefetch: 10, ordered: false, leaseMs: 5_000 });
    await producer.connect();
    const waiting = sub.receive(10, 4_000);
    await new Promise((r) => setTimeout(r, 200));
    const sent = Date.now();
    await producer.publish([message("a", "notified")]);
    const got = await waiting;
    expect(got.map((d) => d.wire.headers["ce-id"])).toEqual(["notified"]);
    expect(Date.now() - sent).toBeLessThan(1_000);
  });

  it("postgres transport - missive() on a postgres:// URL of a fresh database makes the tables and brings an inbox whose transaction is a pg client", async () => {
    const prefix = pgPrefix();
    prefixes.push(prefix);
    const bus = await missive({ transport: `${PG_URL}?tablePrefix=${prefix}`, service: "pg-url", idempotency: "inbox" });
    try {
      const handled: string[] = [];
      await bus.consume(OrderPlaced, { group: "billing" }, async (order, ctx) => {
        await ctx.transaction(async (tx) => {
          const r = await (tx as pg.PoolClient).query<{ one: number }>("SELECT 1 AS one");
          handled.push(`${order.orderId}:${r.rows[0]?.one}`);
        });
      }).ready;
      await bus.publish(OrderPlaced, { orderId: "o-1", seq: 1, totalCents: 1 });
      await waitFor(() => handled.length === 1, 10_000, "the handler's transaction");
      expect(handled).toEqual(["o-1:1"]);
      // `handled` is written inside the handler's transaction, before its commit: the inbox row is there once it committed.
      const inboxCount = async (): Promise<number> => (await pgQuery(`SELECT count(*)::int AS n FROM ${prefix}inbox WHERE group_name = 'billing'`)).rows[0].n as number;
      await waitFor(async () => (await inboxCount()) >= 1, 10_000, "the inbox row committed");
      expect(await inboxCount()).toBe(1);
    } finally {
      await bus.close();
    }
  });

  it("postgres transport - the URL's transport parameters are taken off; the rest stay for node-postgres", () => {
    expect(parsePostgresUrl("postgres://u@h:5432/db?tablePrefix=app_&sslmode=disable&notify=false&pollMaxMs=50")).toEqual({
      connectionString: "postgres://u@h:5432/db?sslmode=disable",
      tablePrefix: "app_",
      notify: false,
      pollMaxMs: 50,
    });
    expect(() => parsePostgresUrl("postgres://h/db?notify=maybe")).toThrow(/notify must be true or false/);
    expect(() => postgresTransport("postgres://h/db?tablePrefix=Bad-Name")).toThrow(/tablePrefix/);
  });
});

describe("postgres transport - abandoned temporary groups", () => {
  it("postgres transport - a temporary group whose process died (no consumer seen for 10 minutes) is swept when another consumer registers; a live one stays", async () => {
    const prefix = pgPrefix();
    const dead = open({ prefix });
    const tail = await dead.subscribe({ group: "tail-dead", topics: ["a"], prefetch: 1, ordered: false, leaseMs: 5_000, temporary: true });
    const live = await dead.subscribe({ group: "tail-live", topics: ["a"], prefetch: 1, ordered: false, leaseMs: 5_000, temporary: true });
    expect(await dead.publish([message("a", "m1")])).toEqual([undefined]);
    // As a SIGKILL would leave it: the group older than the threshold and its consumer unseen for as long.
    await pgQuery(`UPDATE ${prefix}groups SET created_at = created_at - 700000 WHERE group_name IN ('tail-dead', 'tail-live')`);
    await pgQuery(`UPDATE ${prefix}consumers SET seen_at = seen_at - 700000 WHERE group_name = 'tail-dead'`);
    const other = open({ prefix });
    await other.subscribe({ group: "someone-else", topics: ["b"], prefetch: 1, ordered: false, leaseMs: 5_000 });
    const groups = await pgQuery(`SELECT group_name FROM ${prefix}groups ORDER BY group_name`);
    expect(groups.rows.map((r: { group_name: string }) => r.group_name)).toEqual(["someone-else", "tail-live"]);
    const rows = await pgQuery(`SELECT group_name FROM ${prefix}queue ORDER BY group_name`);
    expect(rows.rows.map((r: { group_name: string }) => r.group_name)).toEqual(["tail-live"]);
    const bindings = await pgQuery(`SELECT group_name FROM ${prefix}bindings WHERE topic = 'a'`);
    expect(bindings.rows.map((r: { group_name: string }) => r.group_name)).toEqual(["tail-live"]);
    await tail.close();
    await live.close();
  });
});
