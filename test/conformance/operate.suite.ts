/**
 * Conformance, the operator's side (DESIGN.md §6 and Observability): the
 * dead-letter store filters, pages, summarises, replays and discards by id
 * or by query, and takes an edit only once its contract accepts it; queue
 * statistics tell depth, in-flight, delayed, oldest age, dead letters and
 * consumers. Run by runConformance for every transport.
 */
import { describe, expect, it } from "vitest";
import { ConfigurationError, ErrorCodes, PermanentError, SchemaValidationError, type Bus, type QueueStats } from "../../src/index.js";
import { waitFor } from "../support/wait.js";
import { OrderPlaced, Ping } from "./contracts.js";
import { useTarget } from "./fixture.js";
import type { ConformanceTarget } from "./target.js";
import { statsOf } from "../support/abilities.js";

const ce = (type: string, id: string): Record<string, string> => ({ "ce-id": id, "ce-source": "plain-client", "ce-type": type, "ce-specversion": "1.0", "content-type": "application/json" });

export function runOperateConformance(target: ConformanceTarget): void {
  describe(`conformance - ${target.name} - operate`, () => {
    const fx = useTarget(target, "operate");
    const bus = (): Promise<Bus> => fx.bus();

    it("dead letters - filter by group, type, error code and class, message id and time; page; summarise by type × error", async () => {
      const b = await bus();
      const fail = (): never => {
        throw new PermanentError("declined");
      };
      await b.consume([OrderPlaced, Ping], { group: "dl-a" }, fail).ready;
      await b.consume(OrderPlaced, { group: "dl-b" }, fail).ready;
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await b.publish(OrderPlaced, { orderId: `o${i}`, seq: i, totalCents: 1 })).id);
      for (const id of ["bad-1", "bad-2"]) await fx.h.plain.publish(Ping.type, ce(Ping.type, id), Buffer.from("{not json"));
      const admin = b.deadLetters();
      await waitFor(async () => (await admin.count()) === 8, 15_000, "8 dead letters");

      expect(await admin.count({ group: "dl-a" })).toBe(5);
      expect(await admin.count({ group: "dl-b", topic: OrderPlaced.type })).toBe(3);
      const decode = await admin.list({ errorCode: ErrorCodes.DECODE });
      expect(decode.map((e) => e.topic)).toEqual([Ping.type, Ping.type]);
      expect(decode.map((e) => e.messageId).sort()).toEqual(["bad-1", "bad-2"]);
      expect(await admin.count({ errorClass: "PermanentError" })).toBe(6);
      expect(await admin.count({ errorClass: "PermanentError", errorCode: ErrorCodes.DECODE })).toBe(0);
      expect((await admin.list({ messageId: ids[1]! })).map((e) => e.group).sort()).toEqual(["dl-a", "dl-b"]);

      const all = await admin.list();
      const times = all.map((e) => e.deadLetteredAt);
      const first = Math.min(...times);
      const last = Math.max(...times);
      expect(await admin.count({ since: first, until: last })).toBe(8);
      expect(await admin.count({ since: last + 1 })).toBe(0);
      expect(await admin.count({ until: first - 1 })).toBe(0);

      // Pages: in store order, disjoint, together the whole store.
      const pages: string[][] = [];
      let after: string | undefined;
      for (;;) {
        const page = await admin.list({ limit: 3, ...(after === undefined ? {} : { after }) });
        if (page.length === 0) break;
        pages.push(page.map((e) => e.entryId));
        after = page[page.length - 1]!.entryId;
      }
      expect(pages.map((p) => p.length)).toEqual([3, 3, 2]);
      expect(pages.flat()).toEqual(all.map((e) => e.entryId));

      const summary = await admin.summary();
      expect(summary.map(({ firstDeadLetteredAt: _f, lastDeadLetteredAt: _l, ...rest }) => rest)).toEqual([
        { topic: OrderPlaced.type, errorCode: ErrorCodes.PERMANENT, errorClass: "PermanentError", count: 6 },
        { topic: Ping.type, errorCode: ErrorCodes.DECODE, errorClass: "DecodeError", count: 2 },
      ]);
      for (const row of summary) expect(row.firstDeadLetteredAt).toBeLessThanOrEqual(row.lastDeadLetteredAt);
      expect((await admin.summary({ group: "dl-b" })).map((r) => r.count)).toEqual([3]);

      // One entry whole: body, original headers, diagnostics read back.
      const one = await admin.get(decode[0]!.entryId);
      expect(Buffer.from(one!.wire.body).toString()).toBe("{not json");
      expect(one!.wire.headers["ce-source"]).toBe("plain-client");
      expect(one!.diagnostics).toMatchObject({ errorClass: "DecodeError", errorCode: ErrorCodes.DECODE, reason: "poison", attempts: 1, group: "dl-a" });
      expect(one!.diagnostics.lastFailureAt).toBeGreaterThan(0);
      for (const missing of ["999999999", "nope", "", "__proto__", "1; DROP TABLE x"]) expect(await admin.get(missing)).toBeUndefined();

      // Hostile filters: a typed error, never a query that means something else.
      await expect(admin.list({ limit: -1 })).rejects.toBeInstanceOf(ConfigurationError);
      await expect(admin.list({ since: Number.NaN })).rejects.toBeInstanceOf(ConfigurationError);
      await expect(admin.count({ group: 5 as unknown as string })).rejects.toBeInstanceOf(ConfigurationError);
      expect(await admin.count({ group: "' OR 1=1 --" })).toBe(0);
    });

    it("dead letters - discard and replay by query, edit then replay validated against the contract, ids kept", async () => {
      const b = await bus();
      let fixed = false;
      const handled: Array<{ id: string; seq: number }> = [];
      await b.consume(OrderPlaced, { group: "dl-r" }, (data, ctx) => {
        if (!fixed) throw new PermanentError("bug");
        handled.push({ id: ctx.message.id, seq: data.seq });
      }).ready;
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await b.publish(OrderPlaced, { orderId: `r${i}`, seq: i, totalCents: 1 })).id);
      const admin = b.deadLetters();
      await waitFor(async () => (await admin.count({ group: "dl-r" })) === 4, 15_000, "4 dead letters");

      expect(await admin.discardWhere({ group: "dl-r", messageId: ids[0]! })).toEqual({ matched: 1, done: 1 });
      const [edited] = await admin.list({ messageId: ids[1]! });
      await expect(admin.edit(edited!.entryId, { orderId: 5 })).rejects.toBeInstanceOf(SchemaValidationError);
      await expect(admin.edit(edited!.entryId, { orderId: "r1" }, { contract: Ping })).rejects.toBeInstanceOf(ConfigurationError);
      expect(await admin.count({ group: "dl-r" })).toBe(3);
      fixed = true;
      expect(await admin.edit(edited!.entryId, { orderId: "r1", seq: 99, totalCents: 5 })).toBe(true);
      expect(await admin.edit(edited!.entryId, { orderId: "r1", seq: 98, totalCents: 5 })).toBe(false);

      const progress: number[] = [];
      expect(await admin.replayWhere({ group: "dl-r" }, { batchSize: 1, onProgress: (done) => progress.push(done) })).toEqual({ matched: 2, done: 2 });
      expect(progress).toEqual([1, 2]);
      await waitFor(() => handled.length === 3, 10_000, "3 handled");
      expect(handled.map((x) => x.id).sort()).toEqual(ids.slice(1).sort());
      expect(handled.find((x) => x.id === ids[1])!.seq).toBe(99);
      expect(await admin.count({ group: "dl-r" })).toBe(0);
      expect(await admin.replay([edited!.entryId])).toBe(0);
    });

    it("stats - per group: depth, in flight, delayed, oldest age, dead letters, consumers", async () => {
      const b = await bus();
      await b.declare(OrderPlaced, "st");
      for (let i = 0; i < 3; i++) await b.publish(OrderPlaced, { orderId: `s${i}`, seq: i, totalCents: 1 });
      await b.publish(OrderPlaced, { orderId: "later", seq: 9, totalCents: 1 }, { delay: "60s" });
      // A broker with native delay keeps the delayed message aside; one without has it ready in the queue,
      // and the subscriber's delay fill holds it until due (ADR 008): the broker cannot tell it is delayed.
      const delayed = target.capabilities.nativeDelay ? 1 : 0;
      const readyLater = 1 - delayed;
      const of = async (): Promise<QueueStats> => (await statsOf(b.transport)).find((s) => s.group === "st")!;
      const before = await of();
      expect(before).toMatchObject({ group: "st", topics: [OrderPlaced.type], depth: 4, ready: 3 + readyLater, inFlight: 0, delayed, temporary: false });
      expect(before.oldestAgeMs).toBeGreaterThanOrEqual(0);
      expect(before.oldestAgeMs).toBeLessThan(60_000);
      if (before.consumers !== undefined) expect(before.consumers).toBe(0);
      if (before.deadLetters !== undefined) expect(before.deadLetters).toBe(0);

      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const consumer = b.consume(OrderPlaced, { group: "st", concurrency: 1, prefetch: 1 }, async (data) => {
        await gate;
        if (data.seq === 0) throw new PermanentError("first one is bad");
      });
      await consumer.ready;
      await waitFor(async () => (await of()).inFlight === 1, 10_000, "one message in flight");
      const during = await of();
      if (during.consumers !== undefined) expect(during.consumers).toBe(1);
      release();
      await waitFor(async () => (await of()).depth === 1, 10_000, "the queue drained but for the delayed message");
      await consumer.close();
      const after = await of();
      expect(after).toMatchObject({ depth: 1, ready: readyLater, inFlight: 0, delayed });
      if (after.deadLetters !== undefined) expect(after.deadLetters).toBe(1);
      if (after.consumers !== undefined) await waitFor(async () => (await of()).consumers === 0, 10_000, "no consumers after close");
    });
  });
}
