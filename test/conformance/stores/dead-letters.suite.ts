/**
 * One suite every database dead-letter store passes unchanged (SQLite,
 * PostgreSQL, MariaDB): what src/stores/dead-letters.ts promises, plus the
 * runtime's replay over it (src/runtime/database-dead-letters.ts) on a memory
 * transport with its native dead-letter store switched off. A table per test.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DecodeError, MessageTooLargeError } from "../../../src/errors.js";
import { emptyHeaders } from "../../../src/envelope/wire.js";
import { databaseDeadLetterStore } from "../../../src/runtime/database-dead-letters.js";
import type { NewDeadLetter } from "../../../src/stores/dead-letters.js";
import type { DeadLetterStore, Subscription } from "../../../src/transport/transport.js";
import { createMemoryBroker, type MemoryTransport } from "../../../src/transports/memory/index.js";
import type { DeadLetterHandle, DeadLetterTarget } from "./dead-letters.target.js";

const T0 = Date.parse("2025-01-01T00:00:00Z");

interface Spec {
  readonly group?: string;
  readonly topic?: string;
  readonly id?: string;
  readonly key?: string | undefined;
  readonly code?: string;
  readonly cls?: string;
  readonly at?: number;
  readonly body?: Buffer;
  readonly headers?: Record<string, string>;
}

function letter(n: number, s: Spec = {}): NewDeadLetter {
  const id = s.id ?? `m-${n}`;
  const headers = Object.assign(emptyHeaders(), {
    "ce-id": id, "ce-type": s.topic ?? "order.placed", "x-app": `v${n}`,
    "missive-error-code": s.code ?? "MISSIVE_PERMANENT", "missive-error-class": s.cls ?? "PermanentError", "missive-attempts": "3", "missive-reason": "permanent",
  }, s.headers ?? {});
  return {
    group: s.group ?? "billing", topic: s.topic ?? "order.placed", messageId: id, key: "key" in s ? s.key : `k-${n}`,
    wire: { headers, body: s.body ?? Buffer.from(`{"n":${n}}`) }, deadLetteredAt: s.at ?? T0 + n * 1000,
  };
}

export function runDeadLetterConformance(target: DeadLetterTarget): void {
  describe(`dead-letter store (${target.name})`, () => {
    let h: DeadLetterHandle;
    let transport: MemoryTransport;
    let admin: DeadLetterStore;

    beforeEach(async () => {
      h = await target.setup();
      transport = createMemoryBroker().transport({ capabilities: { nativeDeadLetter: false } });
      await transport.connect();
      await transport.bind("billing", ["order.placed"]);
      admin = databaseDeadLetterStore(h.store, transport);
    });
    afterEach(async () => {
      await transport.close();
      await h.teardown();
    });

    const addAll = async (letters: NewDeadLetter[]): Promise<string[]> => {
      const ids: string[] = [];
      for (const l of letters) ids.push(await h.store.add(l));
      return ids;
    };
    const subscribe = (): Promise<Subscription> => transport.subscribe({ group: "billing", topics: ["order.placed"], prefetch: 50, ordered: false, leaseMs: 5000 });

    it(`dead-letter store (${target.name}) - add then get: every field, headers and body bytes exactly`, async () => {
      const body = Buffer.from([0, 1, 0xff, 0xfe, 0x1b, 0x9b, 0x80]);
      // JSON.parse makes "__proto__" an own header (an object literal would set the prototype instead).
      const hostile = { ...(JSON.parse('{"__proto__":"p"}') as Record<string, string>), "x-nul": "a\u0000b", "x-lone": "\ud800x", "x-esc": "\u001b[2J", "x-emoji": "📦" };
      const id = await h.store.add(letter(1, { body, headers: hostile, key: "k\r\nInjected: yes" }));
      const entry = await h.store.get(id);
      expect(entry).toMatchObject({ entryId: id, messageId: "m-1", group: "billing", topic: "order.placed", key: "k\r\nInjected: yes", deadLetteredAt: T0 + 1000 });
      expect(Buffer.from(entry!.wire.body).equals(body)).toBe(true);
      expect({ ...entry!.wire.headers }).toEqual({ ...letter(1, { headers: hostile }).wire.headers });
      expect(Object.getOwnPropertyDescriptor(entry!.wire.headers, "__proto__")?.value).toBe("p");
      expect(await h.store.get("999999")).toBeUndefined();
      expect(await h.store.get("not-an-id")).toBeUndefined();
      const unkeyed = await h.store.add(letter(2, { key: undefined }));
      expect((await h.store.get(unkeyed))!.key).toBeUndefined();
    });

    it(`dead-letter store (${target.name}) - list is in entry id order, oldest first, and entry ids grow`, async () => {
      const ids = await addAll([letter(3), letter(1), letter(2)]);
      expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => a - b));
      expect((await h.store.list()).map((e) => e.messageId)).toEqual(["m-3", "m-1", "m-2"]);
    });

    it(`dead-letter store (${target.name}) - filters: group, type, error code, error class, message id, since/until, combined`, async () => {
      await addAll([
        letter(1), letter(2, { group: "refunds" }), letter(3, { topic: "order.cancelled" }), letter(4, { code: "MISSIVE_SCHEMA", cls: "SchemaValidationError" }),
        letter(5, { cls: "TypeError", code: "MISSIVE_UNKNOWN" }), letter(6, { group: "refunds", code: "MISSIVE_SCHEMA", cls: "SchemaValidationError" }),
      ]);
      const ids = async (q: Parameters<DeadLetterStore["list"]>[0]): Promise<string[]> => (await h.store.list(q)).map((e) => e.messageId);
      expect(await ids({ group: "refunds" })).toEqual(["m-2", "m-6"]);
      expect(await ids({ topic: "order.cancelled" })).toEqual(["m-3"]);
      expect(await ids({ errorCode: "MISSIVE_SCHEMA" })).toEqual(["m-4", "m-6"]);
      expect(await ids({ errorClass: "TypeError" })).toEqual(["m-5"]);
      expect(await ids({ messageId: "m-4" })).toEqual(["m-4"]);
      expect(await ids({ since: T0 + 3000, until: T0 + 5000 })).toEqual(["m-3", "m-4", "m-5"]);
      expect(await ids({ group: "refunds", errorCode: "MISSIVE_SCHEMA", since: T0 + 6000 })).toEqual(["m-6"]);
      expect(await ids({ group: "nobody" })).toEqual([]);
      expect(await h.store.count({ errorCode: "MISSIVE_SCHEMA" })).toBe(2);
      expect(await h.store.count({ group: "billing", until: T0 + 3000 })).toBe(2);
      expect(await h.store.count()).toBe(6);
    });

    it(`dead-letter store (${target.name}) - paging with after and limit walks every entry once`, async () => {
      await addAll(Array.from({ length: 7 }, (_, i) => letter(i + 1)));
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await h.store.list({ limit: 3, ...(after === undefined ? {} : { after }) });
        seen.push(...page.map((e) => e.messageId));
        if (page.length < 3) break;
        after = page[page.length - 1]!.entryId;
      }
      expect(seen).toEqual(["m-1", "m-2", "m-3", "m-4", "m-5", "m-6", "m-7"]);
      expect(await h.store.list({ limit: 0 })).toEqual([]);
      expect(await h.store.list({ after: "junk" })).toEqual([]);
      expect((await h.store.list({ group: "billing", limit: 2, after: (await h.store.list({ limit: 1 }))[0]!.entryId })).map((e) => e.messageId)).toEqual(["m-2", "m-3"]);
      await expect(h.store.list({ limit: -1 })).rejects.toMatchObject({ code: "MISSIVE_CONFIG" });
    });

    it(`dead-letter store (${target.name}) - summary: type × error, counts, first and last, most frequent first`, async () => {
      await addAll([letter(1), letter(2), letter(3, { code: "MISSIVE_SCHEMA", cls: "SchemaValidationError" }), letter(4), letter(5, { topic: "order.cancelled" })]);
      expect(await h.store.summary()).toEqual([
        { topic: "order.placed", errorCode: "MISSIVE_PERMANENT", errorClass: "PermanentError", count: 3, firstDeadLetteredAt: T0 + 1000, lastDeadLetteredAt: T0 + 4000 },
        { topic: "order.cancelled", errorCode: "MISSIVE_PERMANENT", errorClass: "PermanentError", count: 1, firstDeadLetteredAt: T0 + 5000, lastDeadLetteredAt: T0 + 5000 },
        { topic: "order.placed", errorCode: "MISSIVE_SCHEMA", errorClass: "SchemaValidationError", count: 1, firstDeadLetteredAt: T0 + 3000, lastDeadLetteredAt: T0 + 3000 },
      ]);
      expect(await h.store.summary({ topic: "order.cancelled" })).toHaveLength(1);
      const plain = letter(6);
      const headers = emptyHeaders();
      headers["ce-id"] = "m-6";
      await h.store.add({ ...plain, wire: { headers, body: plain.wire.body } });
      expect((await h.store.summary({ messageId: "m-6" }))[0]).toMatchObject({ errorCode: undefined, errorClass: undefined, count: 1 });
    });

    it(`dead-letter store (${target.name}) - add is idempotent per (group, message id): one entry, the newer one, under a new id`, async () => {
      const first = await h.store.add(letter(1));
      const again = await h.store.add(letter(1, { code: "MISSIVE_SCHEMA", at: T0 + 9000 }));
      expect(Number(again)).toBeGreaterThan(Number(first));
      expect(await h.store.count()).toBe(1);
      expect(await h.store.get(first)).toBeUndefined();
      expect(await h.store.get(again)).toMatchObject({ messageId: "m-1", deadLetteredAt: T0 + 9000 });
      expect((await h.store.get(again))!.wire.headers["missive-error-code"]).toBe("MISSIVE_SCHEMA");
      // The same id in another group is another entry.
      await h.store.add(letter(1, { group: "refunds" }));
      expect(await h.store.count()).toBe(2);
      // A removal by the older id (a replay finishing late) leaves the newer entry alone.
      expect(await h.store.remove([first])).toBe(0);
      expect(await h.store.count({ group: "billing" })).toBe(1);
    });

    it(`dead-letter store (${target.name}) - a message id longer than any index keeps exactly, filters and deduplicates`, async () => {
      const long = `id-${"x".repeat(5000)}-${"é".repeat(300)}`;
      const a = await h.store.add(letter(1, { id: long }));
      const b = await h.store.add(letter(1, { id: long }));
      await h.store.add(letter(2, { id: `${long}-other` }));
      expect(await h.store.count()).toBe(2);
      expect(await h.store.get(a)).toBeUndefined();
      expect((await h.store.list({ messageId: long })).map((e) => e.entryId)).toEqual([b]);
      expect((await h.store.get(b))!.messageId).toBe(long);
    });

    it(`dead-letter store (${target.name}) - discard deletes by id; unknown and malformed ids are skipped`, async () => {
      const ids = await addAll([letter(1), letter(2), letter(3)]);
      expect(await admin.discard([ids[0]!, ids[2]!, ids[2]!, "999999", "nope"])).toBe(2);
      expect((await h.store.list()).map((e) => e.entryId)).toEqual([ids[1]]);
      expect(await admin.discard([])).toBe(0);
    });

    it(`dead-letter store (${target.name}) - replay: back to its group, same id and key, diagnostics stripped, row removed`, async () => {
      const sub = await subscribe();
      const ids = await addAll([letter(1), letter(2)]);
      expect(await admin.replay([...ids, "999999"])).toBe(2);
      expect(await h.store.count()).toBe(0);
      const got = await sub.receive(10, 2000);
      expect(got.map((d) => d.wire.headers["ce-id"])).toEqual(["m-1", "m-2"]);
      expect(got[0]!.key).toBe("k-1");
      expect(got[0]!.group).toBe("billing");
      expect(Object.keys(got[0]!.wire.headers).filter((n) => n.startsWith("missive-"))).toEqual([]);
      expect(got[0]!.wire.headers["x-app"]).toBe("v1");
      expect(Buffer.from(got[0]!.wire.body).toString()).toBe('{"n":1}');
    });

    it(`dead-letter store (${target.name}) - replay leaves an entry whose group no longer exists`, async () => {
      const gone = await h.store.add(letter(1, { group: "gone" }));
      const live = await h.store.add(letter(2));
      expect(await admin.replay([gone, live])).toBe(1);
      expect((await h.store.list()).map((e) => e.entryId)).toEqual([gone]);
    });

    it(`dead-letter store (${target.name}) - replayEdited publishes the given message under the entry's id and group, then removes it`, async () => {
      const sub = await subscribe();
      const id = await h.store.add(letter(1));
      const headers = Object.assign(emptyHeaders(), { "ce-id": "m-1", "x-app": "edited" });
      expect(await admin.replayEdited(id, { headers, body: Buffer.from('{"n":100}') })).toBe(true);
      expect(await admin.replayEdited(id, { headers, body: Buffer.from("again") })).toBe(false);
      const [d] = await sub.receive(10, 2000);
      expect(d!.wire.headers["ce-id"]).toBe("m-1");
      expect(d!.wire.headers["x-app"]).toBe("edited");
      expect(Buffer.from(d!.wire.body).toString()).toBe('{"n":100}');
      expect(await h.store.count()).toBe(0);
    });

    it(`dead-letter store (${target.name}) - an entry over the size bound rejects with MessageTooLargeError and keeps nothing`, async () => {
      const small = h.withOptions({ maxEntryBytes: 64 * 1024 });
      const huge = { "x-huge": "h".repeat(70 * 1024) };
      await expect(small.add(letter(1, { headers: huge }))).rejects.toBeInstanceOf(MessageTooLargeError);
      await expect(h.store.add(letter(2, { body: Buffer.alloc(9 * 1024 * 1024) }))).rejects.toBeInstanceOf(MessageTooLargeError);
      expect(await h.store.count()).toBe(0);
    });

    it(`dead-letter store (${target.name}) - many and large headers within the bound are kept exactly`, async () => {
      const many: Record<string, string> = {};
      for (let i = 0; i < 3000; i++) many[`x-h-${i}`] = `value-${i}-${"v".repeat(50)}`;
      many["x-big"] = "b".repeat(1024 * 1024);
      const id = await h.store.add(letter(1, { headers: many }));
      const entry = await h.store.get(id);
      expect(Object.keys(entry!.wire.headers)).toHaveLength(Object.keys(letter(1, { headers: many }).wire.headers).length);
      expect(entry!.wire.headers["x-h-2999"]).toBe(many["x-h-2999"]);
      expect(entry!.wire.headers["x-big"]).toHaveLength(1024 * 1024);
    });

    it(`dead-letter store (${target.name}) - text no database stores exactly (NUL, lone surrogate) in an id or key rejects with DecodeError`, async () => {
      await expect(h.store.add(letter(1, { id: "a\u0000b" }))).rejects.toBeInstanceOf(DecodeError);
      await expect(h.store.add(letter(2, { key: "\udc00" }))).rejects.toBeInstanceOf(DecodeError);
      await expect(h.store.add(letter(3, { group: "g".repeat(256) }))).rejects.toBeInstanceOf(MessageTooLargeError);
      expect(await h.store.count()).toBe(0);
    });
  });
}
