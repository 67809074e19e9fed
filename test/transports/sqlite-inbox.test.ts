import type Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { ConfigurationError, LeaseLostError } from "../../src/errors.js";
import { sqliteInbox } from "../../src/transports/sqlite/index.js";
import { sleep } from "../support/wait.js";
import { message, sqliteFixture, subOptions } from "./sqlite-support.js";

const count = (db: Database.Database, sql: string): unknown => db.prepare(sql).pluck().get();

describe("sqlite inbox", () => {
  const fx = sqliteFixture();

  async function setup(): Promise<{ t: ReturnType<typeof fx.open>; inbox: ReturnType<typeof sqliteInbox> }> {
    const t = fx.open();
    const inbox = sqliteInbox(t);
    t.database.exec("CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY)");
    return { t, inbox };
  }

  it("sqlite inbox - effects, inbox row and ack commit together; the delivery counts as settled", async () => {
    const { t, inbox } = await setup();
    expect(inbox.name).toBe("sqlite");
    const sub = await t.subscribe(subOptions("billing", ["order.created"], { prefetch: 1 }));
    await t.publish([message("order.created", "m1", "K"), message("order.created", "m2", "K")]);
    const [d] = await sub.receive(1, 1000);
    const outcome = await inbox.runOnce("billing", "m1", d!, (db) => {
      db.prepare("INSERT INTO orders (id) VALUES (?)").run("o-1");
      return "done";
    });
    expect(outcome).toEqual({ duplicate: false, value: "done", acked: true });
    expect(count(t.database, "SELECT COUNT(*) FROM orders")).toBe(1);
    expect(await inbox.seen("billing", "m1")).toBe(true);
    expect(await inbox.seen("billing", "m2")).toBe(false);
    await d!.ack(); // already settled by the inbox: a no-op
    // Settled: prefetch 1 has room again, and the key's next message is claimable.
    const [next] = await sub.receive(1, 1000);
    expect(Buffer.from(next!.wire.body).toString()).toBe("m2");
  });

  it("sqlite inbox - regression: an inbox with its own table prefix still acks in the transport's queue", async () => {
    const t = fx.open();
    const inbox = sqliteInbox(t, { tablePrefix: "billing_" });
    const sub = await t.subscribe(subOptions("billing", ["order.created"], { prefetch: 1 }));
    await t.publish([message("order.created", "m1", "K")]);
    const [d] = await sub.receive(1, 1000);
    expect(await inbox.runOnce("billing", "m1", d!, () => "done")).toEqual({ duplicate: false, value: "done", acked: true });
    expect(count(t.database, "SELECT COUNT(*) FROM billing_inbox")).toBe(1);
    expect(count(t.database, "SELECT COUNT(*) FROM missive_queue")).toBe(0);
  });

  it("sqlite inbox - a duplicate runs nothing and acks nothing", async () => {
    const { t, inbox } = await setup();
    const sub = await t.subscribe(subOptions("billing", ["order.created"]));
    await t.publish([message("order.created", "m1")]);
    const [d] = await sub.receive(1, 1000);
    let ran = 0;
    t.database.prepare("INSERT INTO missive_inbox (group_name, message_id, handled_at) VALUES ('billing', 'm1', ?)").run(Date.now());
    expect(await inbox.runOnce("billing", "m1", d!, () => ran++)).toEqual({ duplicate: true });
    expect(ran).toBe(0);
    expect(count(t.database, "SELECT COUNT(*) FROM missive_queue")).toBe(1);
    await d!.ack();
  });

  it("sqlite inbox - a throwing handler rolls back its writes and the inbox row, and is rethrown", async () => {
    const { t, inbox } = await setup();
    const sub = await t.subscribe(subOptions("billing", ["order.created"]));
    await t.publish([message("order.created", "m1")]);
    const [d] = await sub.receive(1, 1000);
    const boom = new Error("boom");
    await expect(
      inbox.runOnce("billing", "m1", d!, (db) => {
        db.prepare("INSERT INTO orders (id) VALUES ('o-1')").run();
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(count(t.database, "SELECT COUNT(*) FROM orders")).toBe(0);
    expect(await inbox.seen("billing", "m1")).toBe(false);
    await d!.ack(); // still ours to settle
  });

  it("sqlite inbox - a callback returning a promise is rolled back with a ConfigurationError", async () => {
    const { t, inbox } = await setup();
    const sub = await t.subscribe(subOptions("billing", ["order.created"]));
    await t.publish([message("order.created", "m1")]);
    const [d] = await sub.receive(1, 1000);
    const err = await inbox
      .runOnce("billing", "m1", d!, async (db) => {
        db.prepare("INSERT INTO orders (id) VALUES ('o-1')").run();
        await sleep(1);
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toMatch(/synchronous/);
    expect(count(t.database, "SELECT COUNT(*) FROM orders")).toBe(0);
    expect(await inbox.seen("billing", "m1")).toBe(false);
    expect(count(t.database, "SELECT COUNT(*) FROM missive_queue")).toBe(1);
  });

  it("sqlite inbox - a lost lease rolls the effects back with LeaseLostError", async () => {
    const { t, inbox } = await setup();
    const sub = await t.subscribe(subOptions("billing", ["order.created"]));
    await t.publish([message("order.created", "m1")]);
    const [d] = await sub.receive(1, 1000);
    t.database.prepare("UPDATE missive_queue SET lease_token = 'someone-else'").run();
    await expect(inbox.runOnce("billing", "m1", d!, (db) => db.prepare("INSERT INTO orders (id) VALUES ('o-1')").run())).rejects.toBeInstanceOf(LeaseLostError);
    expect(count(t.database, "SELECT COUNT(*) FROM orders")).toBe(0);
    expect(await inbox.seen("billing", "m1")).toBe(false);
  });

  it("sqlite inbox - a delivery from another database file is not acked (acked: false)", async () => {
    const { inbox } = await setup();
    const elsewhere = fx.open({ path: `${fx.dir()}/other.db` });
    const sub = await elsewhere.subscribe(subOptions("billing", ["order.created"]));
    await elsewhere.publish([message("order.created", "m1")]);
    const [d] = await sub.receive(1, 1000);
    expect(await inbox.runOnce("billing", "m1", d!, () => 1)).toEqual({ duplicate: false, value: 1, acked: false });
    await d!.ack();
  });

  it("sqlite inbox - cleanup deletes rows older than the given age", async () => {
    const { t, inbox } = await setup();
    const ins = t.database.prepare("INSERT INTO missive_inbox (group_name, message_id, handled_at) VALUES (?, ?, ?)");
    ins.run("g", "old", Date.now() - 60_000);
    ins.run("g", "new", Date.now());
    expect(await inbox.cleanup(30_000)).toBe(1);
    expect(await inbox.seen("g", "old")).toBe(false);
    expect(await inbox.seen("g", "new")).toBe(true);
  });
});
