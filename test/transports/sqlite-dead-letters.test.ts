import { describe, expect, it } from "vitest";
import { bodyOf, message, sqliteFixture, subOptions } from "./sqlite-support.js";

describe("sqlite transport - dead letters", () => {
  const fx = sqliteFixture();

  const diagnostics = { "missive-error-class": "PermanentError", "missive-error-message": "bad order", "missive-attempts": "3" };

  it("sqlite - deadLetter moves the message with its body and the given headers, and unblocks its key", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("billing", ["order.created"]));
    await t.publish([message("order.created", "m1", "K"), message("order.created", "m2", "K")]);
    const [d] = await sub.receive(10, 1000);
    expect(bodyOf(d!)).toBe("m1");
    await d!.deadLetter({ ...d!.wire.headers, ...diagnostics });
    await d!.ack(); // already settled: no-op

    const [next] = await sub.receive(10, 1000); // the key's next message is free now
    expect(bodyOf(next!)).toBe("m2");
    await next!.ack();

    const store = t.deadLetters;
    const [entry, ...none] = await store.list();
    expect(none).toEqual([]);
    expect(entry).toMatchObject({ group: "billing", topic: "order.created", key: "K" });
    expect(Buffer.from(entry!.wire.body).toString()).toBe("m1");
    expect({ ...entry!.wire.headers }).toEqual({ "ce-id": "m1", "ce-type": "order.created", ...diagnostics });
    expect(Math.abs(entry!.deadLetteredAt - Date.now())).toBeLessThan(60_000);
  });

  it("sqlite - list and count filter by group and topic, with a limit", async () => {
    const t = fx.open();
    const a = await t.subscribe(subOptions("a", ["t1", "t2"], { ordered: false }));
    const b = await t.subscribe(subOptions("b", ["t1"], { ordered: false }));
    await t.publish([message("t1", "x1"), message("t2", "x2"), message("t1", "x3")]);
    for (const sub of [a, b]) for (const d of await sub.receive(10, 1000)) await d.deadLetter(diagnostics);
    const store = t.deadLetters;
    expect(await store.count()).toBe(5);
    expect(await store.count({ group: "a" })).toBe(3);
    expect(await store.count({ group: "a", topic: "t1" })).toBe(2);
    expect(await store.count({ topic: "t2" })).toBe(1);
    expect((await store.list({ group: "b" })).map((e) => Buffer.from(e.wire.body).toString()).sort()).toEqual(["x1", "x3"]);
    expect(await store.list({ limit: 2 })).toHaveLength(2);
    expect(await store.count({ group: "a", topic: "t1" })).toBe(2);
  });

  it("sqlite - replay re-queues with the same message id, diagnostics stripped, attempts from 1", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("billing", ["order.created"]));
    await t.publish([message("order.created", "m1", "K")]);
    const [d] = await sub.receive(10, 1000);
    await d!.retry(0, { ...d!.wire.headers, "missive-attempts": "1" });
    const [again] = await sub.receive(10, 1000);
    expect(again!.attempt).toBe(2);
    await again!.deadLetter({ ...again!.wire.headers, ...diagnostics });

    const [entry] = await t.deadLetters.list({ group: "billing" });
    expect(await t.deadLetters.replay([entry!.entryId, entry!.entryId, "999999", "not-an-id"])).toBe(1);
    expect(await t.deadLetters.count()).toBe(0);

    const [replayed] = await sub.receive(10, 1000);
    expect(bodyOf(replayed!)).toBe("m1");
    expect(replayed!.attempt).toBe(1);
    expect(replayed!.key).toBe("K");
    expect({ ...replayed!.wire.headers }).toEqual({ "ce-id": "m1", "ce-type": "order.created" });
    const messageId = t.database.prepare("SELECT message_id FROM missive_queue").pluck().get();
    expect(messageId).toBe("m1");
    await replayed!.ack();
    expect(await t.deadLetters.replay([entry!.entryId])).toBe(0); // already moved
  });

  it("sqlite - discard removes entries and reports how many", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"], { ordered: false }));
    await t.publish([message("t", "a"), message("t", "b")]);
    for (const d of await sub.receive(10, 1000)) await d.deadLetter(diagnostics);
    const entries = await t.deadLetters.list();
    expect(await t.deadLetters.discard([entries[0]!.entryId, "12345"])).toBe(1);
    expect(await t.deadLetters.count()).toBe(1);
    expect(await t.deadLetters.discard([])).toBe(0);
  });
});
