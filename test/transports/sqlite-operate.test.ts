/** The SQLite transport's operator side beyond the conformance suite: plain-client entries, gone groups, edits, consumers and abandoned temporary groups. */
import { describe, expect, it } from "vitest";
import { waitFor } from "../support/wait.js";
import { bodyOf, message, sqliteFixture, subOptions, wire } from "./sqlite-support.js";

describe("sqlite transport - operated", () => {
  const fx = sqliteFixture();

  it("sqlite - filters read the error diagnostics out of headers a plain client may have broken", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"], { ordered: false }));
    await t.publish([message("t", "a"), message("t", "b")]);
    const [a, b] = await sub.receive(10, 1000);
    await a!.deadLetter({ "missive-error-code": "MISSIVE_DECODE", "missive-error-class": "DecodeError" });
    await b!.deadLetter({});
    // A plain client's entry whose headers are not JSON at all: listed, counted, never a SQL error.
    t.database.prepare("INSERT INTO missive_dead_letters (group_name, topic, message_id, headers, body) VALUES ('g', 't', 'c', 'not json', 'text body')").run();
    expect(await t.deadLetters.count({ errorCode: "MISSIVE_DECODE" })).toBe(1);
    expect(await t.deadLetters.count({ errorClass: "DecodeError" })).toBe(1);
    expect(await t.deadLetters.count()).toBe(3);
    const summary = await t.deadLetters.summary();
    expect(summary.map((r) => [r.errorCode ?? null, r.count])).toEqual([[null, 2], ["MISSIVE_DECODE", 1]]);
    const plain = (await t.deadLetters.list({ messageId: "c" }))[0]!;
    expect(plain.wire.headers["x-missive-bad-headers"]).toBe("not json");
    expect(Buffer.from(plain.wire.body).toString()).toBe("text body");
  });

  it("sqlite - replay skips an entry whose group is gone (a closed temporary group) instead of orphaning it", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("reply.tmp", ["r"], { temporary: true }));
    await t.publish([message("r", "r1")]);
    const [d] = await sub.receive(1, 1000);
    await d!.deadLetter({});
    await sub.close();
    await t.publish([]).catch(() => undefined);
    const [entry] = await t.deadLetters.list();
    expect(await t.deadLetters.replay([entry!.entryId])).toBe(0);
    expect(await t.deadLetters.replayEdited(entry!.entryId, wire("x"))).toBe(false);
    expect(await t.deadLetters.count()).toBe(1);
    expect(t.database.prepare("SELECT COUNT(*) FROM missive_queue").pluck().get()).toBe(0);
  });

  it("sqlite - replayEdited puts the new body and headers back under the same message id, in one transaction", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"]));
    await t.publish([message("t", "m1", "K")]);
    const [d] = await sub.receive(1, 1000);
    await d!.deadLetter({ "missive-error-code": "X" });
    const [entry] = await t.deadLetters.list();
    expect(await t.deadLetters.replayEdited(entry!.entryId, wire("edited", { "ce-id": "m1", "ce-type": "t" }))).toBe(true);
    const [again] = await sub.receive(1, 1000);
    expect(bodyOf(again!)).toBe("edited");
    expect(again).toMatchObject({ key: "K", attempt: 1 });
    expect({ ...again!.wire.headers }).toEqual({ "ce-id": "m1", "ce-type": "t" });
    expect(await t.deadLetters.count()).toBe(0);
    expect(await t.deadLetters.get(entry!.entryId)).toBeUndefined();
  });

  it("sqlite - stats count a consumer while it heartbeats, not after its process died, and across instances on one file", async () => {
    const t1 = fx.open();
    const t2 = fx.open();
    await t1.bind("g", ["t"]);
    const sub = await t2.subscribe(subOptions("g", ["t"]));
    const consumersOf = async (): Promise<number | undefined> => (await t1.stats()).find((s) => s.group === "g")?.consumers;
    expect(await consumersOf()).toBe(1);
    // A SIGKILLed process stops heartbeating: its row ages out of the count.
    t1.database.prepare("UPDATE missive_consumers SET seen_at = seen_at - 60000").run();
    expect(await consumersOf()).toBe(0);
    await sub.close();
    await waitFor(() => t1.database.prepare("SELECT COUNT(*) FROM missive_consumers").pluck().get() === 0, 5_000, "the closed consumer's row removed");
  });

  it("sqlite - a temporary group whose process died (no consumer seen for 10 minutes) is removed when another consumer registers", async () => {
    const t1 = fx.open();
    const t2 = fx.open();
    await t1.subscribe(subOptions("tail.dead", ["t"], { temporary: true }));
    await t1.subscribe(subOptions("tail.alive", ["t"], { temporary: true }));
    await t1.publish([message("t", "m1")]);
    // As if the first one's process had been SIGKILLed 11 minutes ago.
    const old = Date.now() - 11 * 60_000;
    t1.database.prepare("UPDATE missive_consumers SET seen_at = ? WHERE group_name = 'tail.dead'").run(old);
    t1.database.prepare("UPDATE missive_groups SET created_at = ? WHERE temporary = 1").run(old);
    await t2.subscribe(subOptions("other", ["t"]));
    const groups = (await t2.stats()).map((s) => s.group);
    expect(groups).toContain("tail.alive");
    expect(groups).not.toContain("tail.dead");
    expect(t2.database.prepare("SELECT COUNT(*) FROM missive_queue WHERE group_name = 'tail.dead'").pluck().get()).toBe(0);
    expect(t2.database.prepare("SELECT COUNT(*) FROM missive_bindings WHERE group_name = 'tail.dead'").pluck().get()).toBe(0);
  });
});
