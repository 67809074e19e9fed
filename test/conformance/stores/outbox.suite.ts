/**
 * The outbox half of the store conformance suite (DESIGN.md §8): rows added in
 * the caller's transaction are published by relays with the same id, in
 * per-key order with several relays at once, never skipped when their
 * transaction commits late, cleaned up after the retention; bad input is a
 * typed error at add time.
 */
import { describe, expect, it } from "vitest";
import {
  ConfigurationError, defineMessage, MessageTooLargeError, missive, SchemaValidationError, UnroutableError, type Bus, type Envelope, type Transport,
} from "../../../src/index.js";
import { createMemoryBroker, type MemoryBroker } from "../../../src/transports/memory/index.js";
import { sleep, waitFor } from "../../support/wait.js";
import { OrderPlaced, Ping } from "../contracts.js";
import { useStore, type StoreFixture } from "./fixture.js";
import type { Add, StoreTarget } from "./store-target.js";

const order = (orderId: string, seq: number): Add => ({ definition: OrderPlaced, data: { orderId, seq, totalCents: seq } });

interface World {
  readonly broker: MemoryBroker;
  readonly bus: Bus;
  /** Envelopes as the consumer saw them, in handling order (duplicates included). */
  readonly got: Envelope[];
  transport(): Transport;
}

/** A memory broker with an ordered consumer of OrderPlaced (and Ping) bound before any relay runs. */
async function world(fx: StoreFixture, concurrency = 8): Promise<World> {
  const broker = createMemoryBroker();
  const bus = await missive({ service: "stores", transport: broker.transport() });
  fx.defer(() => bus.close({ deadline: 1000 }));
  const got: Envelope[] = [];
  await bus.consume([OrderPlaced, Ping] as const, { group: "billing", ordered: true, concurrency }, (_d, ctx) => {
    got.push(ctx.message);
  }).ready;
  return { broker, bus, got, transport: () => broker.transport() };
}

/** `transport` whose publishes reach the broker 0-25 ms late and confirm 0-25 ms after that. */
function jittery(t: Transport): Transport {
  return {
    name: t.name,
    capabilities: t.capabilities,
    connect: () => t.connect(),
    bind: (group, topics) => t.bind(group, topics),
    publish: async (batch) => {
      await sleep(Math.random() * 25);
      const results = await t.publish(batch);
      await sleep(Math.random() * 25);
      return results;
    },
    subscribe: (options) => t.subscribe(options),
    close: () => t.close(),
  };
}

export function runOutboxConformance(target: StoreTarget): void {
  describe(`store conformance - ${target.name} outbox`, () => {
    const fx = useStore(target);

    it("outbox - a committed row is published once by the relay, same id, envelope intact, then marked sent", async () => {
      const w = await world(fx);
      const [id] = await fx.h.write([{ definition: OrderPlaced, data: { orderId: "o-1", seq: 1, totalCents: 100 }, options: { correlationId: "c-1", extensions: { tenant: "acme" } } }]);
      expect((await fx.h.lag()).unsent).toBe(1);
      const relay = fx.relay(w.transport());
      await waitFor(() => w.got.length === 1, 10_000, "the relayed message");
      expect(w.got[0]).toMatchObject({ id, type: OrderPlaced.type, source: "store-conformance", key: "o-1", correlationid: "c-1", data: { orderId: "o-1", seq: 1, totalCents: 100 } });
      expect(w.got[0]!.extensions["tenant"]).toBe("acme");
      await relay.drain(10_000);
      expect(await fx.h.rows()).toEqual([{ id, sent: true, attempts: 0 }]);
      expect(await relay.lag()).toEqual({ unsent: 0, oldestAgeMs: undefined });
      expect(relay.stats.published).toBe(1);
      await sleep(200);
      expect(w.got).toHaveLength(1);
    });

    it("outbox - a rolled-back transaction publishes nothing", async () => {
      const w = await world(fx);
      await fx.h.write([order("gone", 1)], { rollback: true });
      const [kept] = await fx.h.write([order("kept", 1)]);
      const relay = fx.relay(w.transport());
      await relay.drain(10_000);
      await waitFor(() => w.got.length === 1, 10_000, "the committed message");
      await sleep(200);
      expect(w.got.map((e) => e.id)).toEqual([kept]);
      expect(await fx.h.effects()).toEqual(new Map([[kept!, 1]]));
    });

    it("outbox - lag reports the unsent rows and the age of the oldest", async () => {
      await fx.h.write([order("a", 1), order("b", 1)]);
      await sleep(120);
      const lag = await fx.h.lag();
      expect(lag.unsent).toBe(2);
      expect(lag.oldestAgeMs).toBeGreaterThanOrEqual(100);
      expect(lag.oldestAgeMs).toBeLessThan(60_000);
    });

    it("outbox - two relays, many keys, small batches: every row once, each key in order at the consumer", async () => {
      const w = await world(fx);
      const keys = 4;
      const perKey = 40;
      const round = (seq: number): Add[] => [...Array(keys).keys()].map((k) => order(`key-${k}`, seq));
      // Half the rows are waiting when the relays start (each claim spans several keys), half come while they run.
      for (let seq = 0; seq < perKey / 2; seq++) await fx.h.write(round(seq));
      // Confirms that take 0-25 ms: a relay that let two claims of one key overlap would reorder it.
      const relayA = fx.relay(jittery(w.transport()), { batchSize: 5 });
      const relayB = fx.relay(jittery(w.transport()), { batchSize: 7 });
      for (let seq = perKey / 2; seq < perKey; seq++) {
        const adds = round(seq);
        await fx.h.write(adds.slice(0, keys / 2));
        await fx.h.write(adds.slice(keys / 2));
      }
      await waitFor(() => w.got.length >= keys * perKey, 30_000, `${keys * perKey} messages`);
      await relayA.drain(10_000);
      await sleep(200);
      const byKey = new Map<string, number[]>();
      for (const e of w.got) {
        const data = e.data as { orderId: string; seq: number };
        byKey.set(data.orderId, [...(byKey.get(data.orderId) ?? []), data.seq]);
      }
      expect(w.got).toHaveLength(keys * perKey);
      expect(new Set(w.got.map((e) => e.id)).size).toBe(keys * perKey);
      for (const [, seqs] of byKey) expect(seqs).toEqual([...Array(perKey).keys()]);
      expect(relayA.stats.published + relayB.stats.published).toBe(keys * perKey);
    });

    if (target.concurrentWriters) {
      it("outbox - late commit: a row whose transaction commits after later rows were sent is still published", async () => {
        const w = await world(fx);
        const relay = fx.relay(w.transport(), { batchSize: 4 });
        // The held transaction takes its sequence value first...
        const held = await fx.h.openWrite!([order("late", 0)]);
        // ...later transactions commit and are relayed while it stays open.
        for (let i = 0; i < 10; i++) await fx.h.write([order(`early-${i}`, i)]);
        await waitFor(() => w.got.length === 10, 15_000, "the ten early messages");
        await sleep(300);
        expect(w.got.map((e) => e.key)).not.toContain("late");
        await held.commit();
        await waitFor(() => w.got.length === 11, 15_000, "the late-committed message");
        expect(w.got[10]!.id).toBe(held.ids[0]);
        await relay.drain(10_000);
      });

      it("outbox - late commit on one key: the key's rows come out in commit order, none skipped", async () => {
        const w = await world(fx);
        const held = await fx.h.openWrite!([order("k", 0)]);
        await fx.h.write([order("k", 1)]);
        const relay = fx.relay(w.transport());
        await waitFor(() => w.got.length === 1, 15_000, "the committed row");
        await held.commit();
        await waitFor(() => w.got.length === 2, 15_000, "the late row");
        expect(w.got.map((e) => (e.data as { seq: number }).seq)).toEqual([1, 0]);
        await relay.drain(10_000);
      });

      it("outbox - a held-open transaction rolled back leaves nothing behind and blocks nothing", async () => {
        const w = await world(fx);
        const relay = fx.relay(w.transport());
        const held = await fx.h.openWrite!([order("k", 0)]);
        await fx.h.write([order("k", 1), order("j", 1)]);
        await waitFor(() => w.got.length === 2, 15_000, "the committed rows");
        await held.rollback();
        await relay.drain(10_000);
        expect((await fx.h.rows()).every((r) => r.sent)).toBe(true);
      });
    }

    if (target.notify) {
      it("outbox - a relay with a one-minute poll interval is woken right after the commit", async () => {
        const w = await world(fx);
        const relay = fx.relay(w.transport(), { pollIntervalMs: 60_000 });
        await sleep(300); // the relay found nothing and waits
        const started = Date.now();
        await fx.h.write([order("wake", 1)]);
        await waitFor(() => w.got.length === 1, 10_000, "the message, before the next poll");
        expect(Date.now() - started).toBeLessThan(10_000);
        await relay.drain(10_000);
      });
    }

    it("outbox - a row the transport refuses blocks its key only; after the fix it goes first, then the rows behind it", async () => {
      const w = await world(fx);
      // A contract no group is bound to yet: unroutable.
      const Unbound = defineMessage({ type: "stores.unbound", schema: OrderPlaced.schema, key: (o) => o.orderId });
      const [bad] = await fx.h.write([{ definition: Unbound, data: { orderId: "k", seq: 0, totalCents: 0 } }]);
      const relay = fx.relay(w.transport(), { backoff: { baseMs: 20, maxMs: 100 } });
      await waitFor(async () => (await fx.h.rows())[0]!.attempts > 0, 10_000, "the refusal");
      // Rows behind the refused head wait; other keys flow.
      const [k1] = await fx.h.write([order("k", 1), order("other", 1)]);
      await waitFor(() => w.got.some((e) => e.key === "other"), 10_000, "the other key's message");
      await sleep(400);
      expect(w.got.filter((e) => e.key === "k")).toEqual([]);
      expect(relay.stats.failures).toBeGreaterThan(0);
      // Bind a group to the topic: the blocked key flows, in order.
      const late: string[] = [];
      await w.bus.consume(Unbound, { group: "late-binder" }, (_d, ctx) => void late.push(ctx.message.id)).ready;
      await relay.drain(15_000);
      await waitFor(() => late.length === 1 && w.got.some((e) => e.key === "k"), 10_000, "the key's messages");
      expect(late).toEqual([bad]);
      expect(w.got.filter((e) => e.key === "k").map((e) => e.id)).toEqual([k1]);
    });

    // Regression: later rows of a key published in the same transport batch as its refused first row went out once before it (then again after it).
    it("outbox - a refused first row is never overtaken by the rows behind it in the same claim: the key's order at the consumer is exact", async () => {
      const w = await world(fx);
      let refusing = true;
      const inner = w.transport();
      // Refuses the key's first row on its own (as a broker refuses an unroutable message) until `refusing` is cleared.
      const refusingFirst: Transport = {
        ...jittery(inner),
        publish: async (batch) => {
          const results = await inner.publish(batch.filter((m) => !(refusing && m.id === first)));
          return batch.map((m) => (refusing && m.id === first ? new UnroutableError(`${m.topic}: refused by the test`) : results.shift()));
        },
      };
      // One transaction, so one claim: key k's refused head, two rows behind it, and another key.
      const [first, , , j1, j2] = await fx.h.write([order("k", 0), order("k", 1), order("k", 2), order("j", 1), order("j", 2)]);
      const relay = fx.relay(refusingFirst, { backoff: { baseMs: 20, maxMs: 100 } });
      await waitFor(async () => (await fx.h.rows())[0]!.attempts > 0, 10_000, "the refusal");
      await waitFor(() => w.got.filter((e) => e.key === "j").length === 2, 10_000, "the other key's messages");
      await sleep(300);
      expect(w.got.filter((e) => e.key === "k")).toEqual([]);
      expect(w.got.filter((e) => e.key === "j").map((e) => e.id)).toEqual([j1, j2]);
      refusing = false;
      await relay.drain(15_000);
      await waitFor(() => w.got.filter((e) => e.key === "k").length >= 3, 10_000, "the key's messages");
      await sleep(200);
      expect(w.got.filter((e) => e.key === "k").map((e) => (e.data as { seq: number }).seq)).toEqual([0, 1, 2]);
      expect(w.got).toHaveLength(5);
    });

    it("outbox - a publish that never confirms is given up after publishTimeoutMs: rows stay unsent, another relay sends them", async () => {
      const w = await world(fx);
      const hung: Transport = { ...jittery(w.transport()), publish: () => new Promise(() => undefined) };
      await fx.h.write([order("a", 1), order("b", 1)]);
      const stuck = fx.relay(hung, { publishTimeoutMs: 100, backoff: { baseMs: 10, maxMs: 50 } });
      await waitFor(() => stuck.stats.failures >= 2, 10_000, "two timed-out rounds");
      expect((await fx.h.rows()).every((r) => !r.sent)).toBe(true);
      await stuck.stop();
      const relay = fx.relay(w.transport());
      await relay.drain(10_000);
      await waitFor(() => w.got.length === 2, 10_000, "both messages");
    });

    it("outbox - sent rows are deleted after the retention period, in chunks; unsent rows never", async () => {
      const w = await world(fx);
      const relay = fx.relay(w.transport(), { retentionMs: 60_000, cleanupChunk: 3 });
      await fx.h.write([order("a", 1), order("b", 1), order("c", 1), order("d", 1), order("e", 1), order("f", 1), order("g", 1)]);
      await relay.drain(10_000);
      expect(await relay.cleanup()).toBe(0);
      await relay.stop();
      await fx.h.write([order("h", 1)]);
      await fx.h.ageSent(120_000);
      expect(await relay.cleanup()).toBe(7);
      expect(await fx.h.rows()).toEqual([expect.objectContaining({ sent: false })]);
    });

    it("outbox - add validates at once: schema, size limits and options are typed errors, and nothing is written", async () => {
      const big = "x".repeat(2 * 1024 * 1024);
      await expect(fx.h.write([{ definition: OrderPlaced, data: { orderId: 7 } }])).rejects.toBeInstanceOf(SchemaValidationError);
      await expect(fx.h.write([{ definition: OrderPlaced, data: { orderId: big, seq: 1, totalCents: 1 } }])).rejects.toBeInstanceOf(MessageTooLargeError);
      for (const options of [{ delay: "1s" }, { id: "" }, { id: 7 }, { key: "k".repeat(5000) }, { id: "i".repeat(300) }, { extensions: { "Bad-Name": "x" } }, "nope"]) {
        await expect(fx.h.write([{ definition: OrderPlaced, data: { orderId: "o", seq: 1, totalCents: 1 }, options: options as never }])).rejects.toBeInstanceOf(ConfigurationError);
      }
      for (const definition of [null, {}, { type: "x" }, "order"]) {
        await expect(fx.h.write([{ definition: definition as never, data: {} }])).rejects.toBeInstanceOf(ConfigurationError);
      }
      // A data object with a __proto__ key is data, not a prototype.
      const [id] = await fx.h.write([{ definition: Ping, data: JSON.parse('{"n": 1, "__proto__": {"polluted": true}}') as unknown }]);
      expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
      expect(await fx.h.rows()).toEqual([{ id, sent: false, attempts: 0 }]);
    });

    it("outbox - add refuses what is not a transaction handle of its database", async () => {
      for (const tx of [null, undefined, {}, "client", 42]) {
        await expect(fx.h.addWith(tx, order("o", 1))).rejects.toBeInstanceOf(ConfigurationError);
      }
    });

    it("outbox - re-adding a message id is a no-op", async () => {
      const [id] = await fx.h.write([order("o", 1)]);
      await fx.h.write([{ ...order("o", 2), options: { id: id! } }]);
      expect((await fx.h.rows()).map((r) => r.id)).toEqual([id]);
    });

    it("outbox - bad options are ConfigurationErrors: table names, source, limits, relay settings", async () => {
      for (const table of ["", "Outbox", "x;drop", "x".repeat(49), 1, "__proto__"]) expect(() => fx.h.makeOutbox({ table })).toThrow(ConfigurationError);
      for (const source of ["", 3, null]) expect(() => fx.h.makeOutbox({ source })).toThrow(ConfigurationError);
      expect(() => fx.h.makeOutbox({ limits: { maxBodyBytes: -1 } })).toThrow(ConfigurationError);
      expect(() => fx.h.makeOutbox({ limits: { nope: 1 } })).toThrow(ConfigurationError);
      expect(() => fx.h.makeOutbox({ mode: "weird" })).toThrow(ConfigurationError);
      const w = await world(fx);
      for (const options of [{ batchSize: 0 }, { batchSize: 1.5 }, { pollIntervalMs: -1 }, { retentionMs: "7d" }, { backoff: { baseMs: 0 } }, { logger: 3 }]) {
        expect(() => fx.relay(w.transport(), options as never)).toThrow(ConfigurationError);
      }
      expect(() => fx.relay({} as Transport)).toThrow(ConfigurationError);
    });
  });
}
