/**
 * NativeDeadLetters: `Delivery.deadLetter` and the DeadLetterStore
 * (transport.ts). Every query names the test's own group, so a store shared
 * with other tests (one broker, one vhost) cannot change the counts.
 */
import { expect, it } from "vitest";
import { DiagnosticHeaders } from "../transport/diagnostic-prefix.js";
import { hasNativeDeadLetters } from "../transport/abilities.js";
import type { DeadLetter, DeadLetterStore, Transport } from "../transport/transport.js";
import type { SeamContext } from "./seam-context.js";
import { bodies, bodyOf, message, plainHeaders, receiveExactly, wire } from "./seam-helpers.js";

interface Spec {
  readonly id: string;
  readonly key?: string;
  readonly code?: string;
  readonly className?: string;
}

function storeOf(t: Transport): DeadLetterStore {
  if (!hasNativeDeadLetters(t)) throw new Error(`${t.name}: declared nativeDeadLetters but has no deadLetters store`);
  return t.deadLetters;
}

const missiveHeaders = (d: { readonly wire: { readonly headers: Readonly<Record<string, string>> } }): string[] =>
  Object.keys(d.wire.headers).filter((name) => name.startsWith("missive-"));

export function deadLetterTests(s: SeamContext): void {
  /** Publish `specs` to a new group and dead-letter each, in order, with error diagnostics and one header of the test's own. */
  async function deadLettered(specs: readonly Spec[]): Promise<{ t: Transport; store: DeadLetterStore; group: string; topic: string; entries: DeadLetter[] }> {
    const t = await s.open();
    const [group, topic] = [s.name("dl"), s.name("order.placed")];
    const sub = await s.subscribe(t, group, [topic], { ordered: false, prefetch: Math.max(1, specs.length) });
    expect(await t.publish(specs.map((spec) => message(topic, spec.id, spec.key)))).toEqual(specs.map(() => undefined));
    const got = await receiveExactly(sub, specs.length);
    for (const spec of specs) {
      const d = got.find((x) => bodyOf(x) === spec.id)!;
      await d.deadLetter({
        ...d.wire.headers,
        [DiagnosticHeaders.errorCode]: spec.code ?? "MISSIVE_PERMANENT",
        [DiagnosticHeaders.errorClass]: spec.className ?? "PermanentError",
        [DiagnosticHeaders.errorMessage]: `failed ${spec.id}`,
        [DiagnosticHeaders.attempts]: "1",
        "x-kept": "yes",
      });
    }
    await sub.close();
    const store = storeOf(t);
    const entries = await store.list({ group });
    expect(entries.map((e) => e.messageId)).toEqual(specs.map((spec) => spec.id));
    return { t, store, group, topic, entries };
  }

  it("seam - deadLetter moves the message into the store with the headers given, and lets its key go on", async () => {
    const t = await s.open();
    const [group, topic] = [s.name("dl"), s.name("keyed")];
    const sub = await s.subscribe(t, group, [topic]);
    await t.publish([message(topic, "k1", "K"), message(topic, "k2", "K")]);
    const [k1] = await receiveExactly(sub, 1);
    const headers = { ...k1!.wire.headers, [DiagnosticHeaders.errorCode]: "MISSIVE_SCHEMA", "x-kept": "yes" };
    const before = Date.now();
    await k1!.deadLetter(headers);
    const [k2] = await receiveExactly(sub, 1);
    expect(bodyOf(k2!)).toBe("k2");
    await k2!.ack();
    expect(await sub.receive(10, 300)).toEqual([]);
    const [entry, ...more] = await storeOf(t).list({ group });
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ messageId: "k1", group, topic, key: "K" });
    expect(plainHeaders(entry!)).toEqual(headers);
    expect(Buffer.from(entry!.wire.body).toString()).toBe("k1");
    // Clocks of broker and test differ a little; the entry is from this test, not from another day.
    expect(Math.abs(entry!.deadLetteredAt - before)).toBeLessThan(60_000);
  });

  it("seam - dead letters: list and count filter by group, topic, errorCode, errorClass, messageId, since and until", async () => {
    const { store, group, topic, entries } = await deadLettered([
      { id: "f1" }, { id: "f2", code: "MISSIVE_DECODE", className: "DecodeError" }, { id: "f3" },
    ]);
    const count = (q: Parameters<DeadLetterStore["count"]>[0]): Promise<number> => store.count({ group, ...q });
    const ids = async (q: Parameters<DeadLetterStore["list"]>[0]): Promise<string[]> => (await store.list({ group, ...q })).map((e) => e.messageId);
    expect(await count({})).toBe(3);
    expect(await store.count()).toBeGreaterThanOrEqual(3);
    expect(await count({ topic })).toBe(3);
    expect(await count({ topic: s.name("other") })).toBe(0);
    expect(await store.count({ group: s.name("other") })).toBe(0);
    expect(await ids({ errorCode: "MISSIVE_DECODE" })).toEqual(["f2"]);
    expect(await ids({ errorClass: "PermanentError" })).toEqual(["f1", "f3"]);
    expect(await ids({ errorCode: "MISSIVE_DECODE", errorClass: "PermanentError" })).toEqual([]);
    expect(await ids({ messageId: "f3" })).toEqual(["f3"]);
    const first = Math.min(...entries.map((e) => e.deadLetteredAt));
    const last = Math.max(...entries.map((e) => e.deadLetteredAt));
    expect(await count({ since: first })).toBe(3);
    expect(await count({ until: last })).toBe(3);
    expect(await count({ since: last + 60_000 })).toBe(0);
    expect(await count({ until: first - 60_000 })).toBe(0);
  });

  it("seam - dead letters: pages of `limit` after the last entry id walk the store in order, with no gap and no repeat", async () => {
    const { store, group, entries } = await deadLettered(["p1", "p2", "p3", "p4", "p5"].map((id) => ({ id })));
    const pages: string[][] = [];
    let after: string | undefined;
    for (let guard = 0; guard < 10; guard++) {
      const page = await store.list({ group, limit: 2, ...(after === undefined ? {} : { after }) });
      if (page.length === 0) break;
      pages.push(page.map((e) => e.entryId));
      after = page[page.length - 1]!.entryId;
    }
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(entries.map((e) => e.entryId));
    expect(await store.list({ group, limit: 0 })).toEqual([]);
  });

  it("seam - dead letters: get returns an entry whole, and undefined for an id it does not hold", async () => {
    const { store, group, topic, entries } = await deadLettered([{ id: "g1", key: "gk" }]);
    const entry = await store.get(entries[0]!.entryId);
    expect(entry).toMatchObject({ entryId: entries[0]!.entryId, messageId: "g1", group, topic, key: "gk" });
    expect(Buffer.from(entry!.wire.body).toString()).toBe("g1");
    expect(entry!.wire.headers["x-kept"]).toBe("yes");
    expect(entry!.wire.headers[DiagnosticHeaders.errorCode]).toBe("MISSIVE_PERMANENT");
    for (const unknown of ["no-such-entry", "__proto__", "' OR 1=1 --"]) expect(await store.get(unknown)).toBeUndefined();
  });

  it("seam - dead letters: summary counts by type and error, most frequent first", async () => {
    const { store, group, topic } = await deadLettered([
      { id: "s1" }, { id: "s2", code: "MISSIVE_DECODE", className: "DecodeError" }, { id: "s3" }, { id: "s4" },
    ]);
    const summary = await store.summary({ group });
    expect(summary.map(({ firstDeadLetteredAt: _first, lastDeadLetteredAt: _last, ...rest }) => rest)).toEqual([
      { topic, errorCode: "MISSIVE_PERMANENT", errorClass: "PermanentError", count: 3 },
      { topic, errorCode: "MISSIVE_DECODE", errorClass: "DecodeError", count: 1 },
    ]);
    for (const row of summary) expect(row.firstDeadLetteredAt).toBeLessThanOrEqual(row.lastDeadLetteredAt);
  });

  it("seam - dead letters: replay puts messages back in their group with the same id, no diagnostics, attempts from 1; an entry no longer there is skipped", async () => {
    const { t, store, group, topic, entries } = await deadLettered([{ id: "r1" }, { id: "r2" }, { id: "r3" }]);
    const [r1, r2] = entries;
    expect(await store.replay([r1!.entryId, r2!.entryId, "no-such-entry"])).toBe(2);
    expect(await store.replay([r1!.entryId])).toBe(0);
    expect((await store.list({ group })).map((e) => e.messageId)).toEqual(["r3"]);
    const sub = await s.subscribe(t, group, [topic], { ordered: false });
    const back = await receiveExactly(sub, 2);
    expect(bodies(back).sort()).toEqual(["r1", "r2"]);
    for (const d of back) {
      expect(d.wire.headers["ce-id"]).toBe(bodyOf(d));
      expect(d.wire.headers["x-kept"]).toBe("yes");
      expect(missiveHeaders(d)).toEqual([]);
      expect(d.attempt).toBe(s.features.exactAttempts ? 1 : 0);
      await d.ack();
    }
    expect(await sub.receive(10, 300)).toEqual([]);
  });

  it("seam - dead letters: replayEdited sends the edited message with the same id, and is false once the entry is gone", async () => {
    const { t, store, group, topic, entries } = await deadLettered([{ id: "e1" }]);
    const edited = wire("fixed", { "ce-id": "e1", "ce-type": topic, "x-edited": "yes" });
    expect(await store.replayEdited(entries[0]!.entryId, edited)).toBe(true);
    expect(await store.replayEdited(entries[0]!.entryId, edited)).toBe(false);
    expect(await store.count({ group })).toBe(0);
    const sub = await s.subscribe(t, group, [topic]);
    const [d] = await receiveExactly(sub, 1);
    expect(bodyOf(d!)).toBe("fixed");
    expect(plainHeaders(d!)).toEqual({ ...edited.headers });
    await d!.ack();
    expect(await sub.receive(10, 300)).toEqual([]);
  });

  it("seam - dead letters: discard removes entries and counts only those it removed", async () => {
    const { store, group, entries } = await deadLettered([{ id: "d1" }, { id: "d2" }, { id: "d3" }]);
    expect(await store.discard([entries[0]!.entryId, entries[2]!.entryId, "no-such-entry"])).toBe(2);
    expect(await store.discard([entries[0]!.entryId])).toBe(0);
    expect((await store.list({ group })).map((e) => e.messageId)).toEqual(["d2"]);
    expect(await store.replay([entries[0]!.entryId])).toBe(0);
  });
}
