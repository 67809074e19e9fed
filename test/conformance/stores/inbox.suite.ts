/**
 * The inbox half of the store conformance suite (DESIGN.md §2): effects and
 * the (group, message id) row commit together, a duplicate runs nothing,
 * concurrent deliveries of one message make one effect, cleanup is explicit.
 */
import { describe, expect, it } from "vitest";
import { ConfigurationError, missive, type Bus, type Delivery, type InboxStore } from "../../../src/index.js";
import { createMemoryBroker } from "../../../src/transports/memory/index.js";
import { sleep, waitFor } from "../../support/wait.js";
import { OrderPlaced } from "../contracts.js";
import { useStore } from "./fixture.js";
import type { StoreTarget } from "./store-target.js";

/** runOnce ignores the delivery unless it belongs to its own database: none of these does. */
const delivery = {} as Delivery;

export function runInboxConformance(target: StoreTarget): void {
  describe(`store conformance - ${target.name} inbox`, () => {
    const fx = useStore(target);

    it("inbox - effects and the inbox row commit together; acked is the runtime's", async () => {
      const inbox = await fx.h.inbox();
      const outcome = await inbox.runOnce("billing", "m-1", delivery, (tx) => {
        fx.h.effect(tx, "m-1");
        return "done";
      });
      // The async stores await effects that return a promise; SQLite's are synchronous.
      expect(outcome).toEqual({ duplicate: false, value: "done", acked: false });
      expect(await inbox.seen("billing", "m-1")).toBe(true);
      expect(await inbox.seen("billing", "m-2")).toBe(false);
      expect(await inbox.seen("shipping", "m-1")).toBe(false);
      expect(await fx.h.effects()).toEqual(new Map([["m-1", 1]]));
    });

    it("inbox - a duplicate runs nothing", async () => {
      const inbox = await fx.h.inbox();
      await inbox.runOnce("billing", "m-1", delivery, (tx) => fx.h.effect(tx, "m-1"));
      let ran = 0;
      expect(await inbox.runOnce("billing", "m-1", delivery, () => ran++)).toEqual({ duplicate: true });
      expect(ran).toBe(0);
      // Another group handles the same message on its own.
      expect(await inbox.runOnce("shipping", "m-1", delivery, () => "x")).toMatchObject({ duplicate: false, value: "x" });
      expect(await fx.h.effects()).toEqual(new Map([["m-1", 1]]));
    });

    it("inbox - a throwing handler rolls back its writes and the inbox row; its error passes through untouched", async () => {
      const inbox = await fx.h.inbox();
      const boom = new Error("boom");
      await expect(
        inbox.runOnce("billing", "m-1", delivery, (tx) => {
          fx.h.effect(tx, "m-1");
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await inbox.seen("billing", "m-1")).toBe(false);
      expect(await fx.h.effects()).toEqual(new Map());
      // And the message can be handled afterwards.
      await inbox.runOnce("billing", "m-1", delivery, (tx) => fx.h.effect(tx, "m-1"));
      expect(await fx.h.effects()).toEqual(new Map([["m-1", 1]]));
    });

    it("inbox - concurrent deliveries of one message (each on its own connection) produce one effect", async () => {
      const inboxes: Array<InboxStore<unknown>> = [];
      for (let i = 0; i < 4; i++) inboxes.push(await fx.h.inbox());
      for (let round = 0; round < 5; round++) {
        const id = `m-${round}`;
        const outcomes = await Promise.all(
          inboxes.flatMap((inbox) => [0, 1].map(() => inbox.runOnce("billing", id, delivery, (tx) => fx.h.effect(tx, id)))),
        );
        expect(outcomes.filter((o) => !o.duplicate)).toHaveLength(1);
      }
      const effects = await fx.h.effects();
      expect(effects.size).toBe(5);
      expect([...effects.values()].every((n) => n === 1)).toBe(true);
    });

    it("inbox - through a bus: redelivered copies of every message (same ids) have one effect each", async () => {
      const inbox = await fx.h.inbox();
      const broker = createMemoryBroker();
      const bus: Bus = await missive({ service: "stores", transport: broker.transport() });
      try {
        await bus.consume(OrderPlaced, { group: "once", idempotency: inbox, concurrency: 8 }, async (_d, ctx) => {
          await ctx.transaction((tx) => fx.h.effect(tx, ctx.message.id));
        }).ready;
        const ids: string[] = [];
        for (let i = 0; i < 30; i++) ids.push((await bus.publish(OrderPlaced, { orderId: `k${i % 5}`, seq: i, totalCents: 1 })).id);
        for (let i = 0; i < 30; i++) await bus.publish(OrderPlaced, { orderId: `k${i % 5}`, seq: i, totalCents: 1 }, { id: ids[i]! });
        await waitFor(async () => (await fx.h.effects()).size === 30, 20_000, "30 effects");
        await sleep(300);
        const effects = await fx.h.effects();
        expect([...effects.values()].every((n) => n === 1)).toBe(true);
      } finally {
        await bus.close({ deadline: 1000 });
      }
    });

    it("inbox + outbox - a handler's effect and its follow-up message commit together, or neither does", async () => {
      const inbox = await fx.h.inbox();
      const next = { definition: OrderPlaced, data: { orderId: "follow-up", seq: 1, totalCents: 1 } };
      const both = (tx: unknown, id: string): unknown => {
        const results = [fx.h.effect(tx, id), fx.h.addInTx(tx, next)];
        return results.some((r) => r instanceof Promise) ? Promise.all(results) : results;
      };
      await inbox.runOnce("billing", "m-1", delivery, (tx) => both(tx, "m-1"));
      const boom = new Error("after the add");
      await expect(
        inbox.runOnce("billing", "m-2", delivery, (tx) => {
          const r = both(tx, "m-2");
          if (r instanceof Promise) return r.then(() => Promise.reject(boom));
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await fx.h.effects()).toEqual(new Map([["m-1", 1]]));
      expect(await fx.h.rows()).toEqual([expect.objectContaining({ sent: false })]);
    });

    it("inbox - cleanup deletes rows older than the age given, in chunks, and keeps the rest", async () => {
      const inbox = await fx.h.inbox({ cleanupChunk: 2 });
      for (let i = 0; i < 5; i++) await inbox.runOnce("g", `old-${i}`, delivery, () => undefined);
      await sleep(30);
      const between = Date.now();
      await sleep(30);
      await inbox.runOnce("g", "new", delivery, () => undefined);
      // Older than `between`: the five old rows, not the new one, however slow the machine.
      expect(await inbox.cleanup(Date.now() - between)).toBe(5);
      expect(await inbox.seen("g", "old-0")).toBe(false);
      expect(await inbox.seen("g", "new")).toBe(true);
      expect(await inbox.cleanup(60_000)).toBe(0);
      await expect(inbox.cleanup(-1)).rejects.toBeInstanceOf(ConfigurationError);
      await expect(inbox.cleanup(Number.NaN)).rejects.toBeInstanceOf(ConfigurationError);
    });

    it("inbox - retentionMs deletes old rows on its own, every cleanupIntervalMs", async () => {
      const inbox = await fx.h.inbox({ retentionMs: 50, cleanupIntervalMs: 40 });
      await inbox.runOnce("g", "m-1", delivery, () => undefined);
      await waitFor(async () => !(await inbox.seen("g", "m-1")), 10_000, "the periodic cleanup");
    });

    it("inbox - hostile ids: __proto__, quotes, 10 000 characters and their near twins are distinct keys", async () => {
      const inbox = await fx.h.inbox();
      const long = "x".repeat(10_000);
      const ids = ["__proto__", "constructor", "a'b\"c;--", long, `${long}y`, "ü🙂"];
      for (const id of ids) expect(await inbox.runOnce("__proto__", id, delivery, () => 1)).toMatchObject({ duplicate: false });
      for (const id of ids) expect(await inbox.runOnce("__proto__", id, delivery, () => 1)).toEqual({ duplicate: true });
      for (const id of ids) expect(await inbox.seen("__proto__", id)).toBe(true);
      expect(await inbox.seen("__proto__", "x".repeat(9_999))).toBe(false);
      await expect(inbox.runOnce("g", "", delivery, () => 1)).rejects.toBeInstanceOf(ConfigurationError);
      await expect(inbox.runOnce(42 as unknown as string, "m", delivery, () => 1)).rejects.toBeInstanceOf(ConfigurationError);
    });

    it("inbox - bad options are ConfigurationErrors: table names, pool or database, retention", () => {
      for (const table of ["", "Orders", "a-b", "a;drop table x", "x".repeat(49), "1abc", 7, null, "a b", "ä"]) {
        expect(() => fx.h.makeInbox({ table })).toThrow(ConfigurationError);
      }
      expect(() => fx.h.makeInbox({ retentionMs: -1 })).toThrow(ConfigurationError);
      expect(() => fx.h.makeInbox({ cleanupChunk: 0 })).toThrow(ConfigurationError);
      expect(() => fx.h.makeInbox({ pool: {}, database: {} })).toThrow(ConfigurationError);
      expect(() => fx.h.makeInbox(JSON.parse('{"__proto__": {"table": "evil"}}') as Record<string, unknown>)).not.toThrow();
    });
  });
}
