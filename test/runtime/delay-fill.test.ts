/**
 * The runtime delay fill (ADR 008) on brokers without native delay: the
 * memory broker with `nativeDelay` switched off, and real SQLite shown to the
 * runtime without it. Timing is asserted as "not before", with generous
 * upper bounds: the machine running this may be loaded.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PermanentError, TransientError, missive, type Bus, type BusOptions, type InboxStore, type Logger, type Transport } from "../../src/index.js";
import { NOT_BEFORE_HEADER } from "../../src/runtime/delay-support.js";
import { createMemoryBroker, type MemoryTransport } from "../../src/transports/memory/index.js";
import { sqliteInbox, sqliteTransport } from "../../src/transports/sqlite/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { deadLettersOf, statsOf } from "../support/abilities.js";
import { sleep, waitFor } from "../support/wait.js";
import { withoutNativeDelay, type CountedTransport } from "../support/without-native-delay.js";

interface Rig {
  /** A new bus (another process, as far as the broker can tell) on a transport without native delay. */
  bus(options?: Partial<Omit<BusOptions, "transport">>): Promise<Bus>;
  /** Kill a bus as a crash would: nothing settled or released. */
  kill(bus: Bus): Promise<void>;
  /** Receive calls on every subscription of every bus so far. */
  receives(): number;
  teardown(): Promise<void>;
}

function memoryRig(): Rig {
  const broker = createMemoryBroker();
  const inbox = broker.inbox() as InboxStore<unknown>;
  const raws = new Map<Bus, MemoryTransport>();
  const counted: CountedTransport[] = [];
  return {
    async bus(options) {
      const raw = broker.transport({ capabilities: { nativeDelay: false } });
      const transport = withoutNativeDelay(raw);
      counted.push(transport);
      const bus = await missive({ service: "delay-fill", inbox, ...options, transport });
      raws.set(bus, raw);
      return bus;
    },
    async kill(bus) {
      raws.get(bus)!.crash();
      await bus.close({ deadline: 0 });
    },
    receives: () => counted.reduce((n, t) => n + t.receives, 0),
    teardown: async () => undefined,
  };
}

function sqliteRig(): Rig {
  const dir = mkdtempSync(join(tmpdir(), "missive-delay-fill-"));
  const path = join(dir, "broker.db");
  const raws = new Map<Bus, Transport>();
  const counted: CountedTransport[] = [];
  return {
    async bus(options) {
      const raw = sqliteTransport({ path });
      const transport = withoutNativeDelay(raw);
      counted.push(transport);
      const bus = await missive({ service: "delay-fill", inbox: sqliteInbox(raw) as InboxStore<unknown>, ...options, transport });
      raws.set(bus, raw);
      return bus;
    },
    async kill(bus) {
      // The connection goes with nothing settled; the leases bring the messages back.
      await raws.get(bus)!.close();
      await bus.close({ deadline: 0 });
    },
    receives: () => counted.reduce((n, t) => n + t.receives, 0),
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function collectingLogger(lines: string[]): Logger {
  const write = (msg?: string): void => void lines.push(msg ?? "");
  return { debug: () => undefined, info: () => undefined, warn: (_o, m) => write(m), error: (_o, m) => write(m) };
}

describe.each([
  { name: "memory", rig: memoryRig },
  { name: "sqlite", rig: sqliteRig },
])("delay fill - $name without native delay", ({ rig: makeRig }) => {
  let rig: Rig;
  const buses: Bus[] = [];
  const bus = async (options?: Partial<Omit<BusOptions, "transport">>): Promise<Bus> => {
    const b = await rig.bus(options);
    buses.push(b);
    return b;
  };
  beforeEach(() => {
    rig = makeRig();
  });
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 500 })));
    await rig.teardown();
  });

  it("delay fill - a delayed publish arrives no sooner than its delay and is handled once", async () => {
    const b = await bus();
    const got: number[] = [];
    await b.consume(OrderPlaced, { group: "once", idempotency: "inbox" }, () => void got.push(Date.now())).ready;
    const t0 = Date.now();
    await b.publish(OrderPlaced, { orderId: "a", seq: 1, totalCents: 1 }, { delay: "600ms" });
    await waitFor(() => got.length === 1, 10_000, "the delayed message");
    expect(got[0]! - t0).toBeGreaterThanOrEqual(590);
    expect(got[0]! - t0).toBeLessThan(600 + 5000);
    await sleep(300);
    expect(got).toHaveLength(1);
  });

  it("delay fill - immediate messages are not blocked behind delayed ones", async () => {
    const b = await bus();
    const got: Array<{ seq: number; at: number }> = [];
    await b.consume(OrderPlaced, { group: "mix", concurrency: 2, prefetch: 8 }, (d) => void got.push({ seq: d.seq, at: Date.now() })).ready;
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) await b.publish(OrderPlaced, { orderId: `late-${i}`, seq: 100 + i, totalCents: 1 }, { delay: "1500ms" });
    for (let i = 0; i < 3; i++) await b.publish(OrderPlaced, { orderId: `now-${i}`, seq: i, totalCents: 1 });
    await waitFor(() => got.length === 6, 15_000, "all six messages");
    expect(got.slice(0, 3).map((g) => g.seq).sort()).toEqual([0, 1, 2]);
    for (const late of got.slice(3)) expect(late.at - t0).toBeGreaterThanOrEqual(1490);
  });

  it("delay fill - a consumer that crashes holding a future message: another one gets it, still not before it is due", async () => {
    const a = await bus();
    const got: Array<{ by: string; at: number }> = [];
    await a.consume(OrderPlaced, { group: "crash", lease: "300ms" }, () => void got.push({ by: "a", at: Date.now() })).ready;
    const t0 = Date.now();
    await a.publish(OrderPlaced, { orderId: "c", seq: 1, totalCents: 1 }, { delay: "1500ms" });
    // Held by a, unsettled at the broker.
    await waitFor(async () => (await statsOf(a.transport)).find((s) => s.group === "crash")?.inFlight === 1, 10_000, "a holds the message");
    await rig.kill(a);
    const b = await bus();
    await b.consume(OrderPlaced, { group: "crash", lease: "300ms" }, () => void got.push({ by: "b", at: Date.now() })).ready;
    await waitFor(() => got.length === 1, 15_000, "the message, on the other consumer");
    expect(got[0]!.by).toBe("b");
    expect(got[0]!.at - t0).toBeGreaterThanOrEqual(1490);
    await sleep(300);
    expect(got).toHaveLength(1);
  });

  it("delay fill - retries with backoff honour the delay, count attempts, and free the consumer's slot meanwhile", async () => {
    const b = await bus();
    const attempts: Array<{ attempt: number; at: number }> = [];
    const handled: number[] = [];
    await b.consume(OrderPlaced, { group: "retry", concurrency: 1, prefetch: 4, retry: { delays: ["1200ms"], attempts: 3 } }, (d, ctx) => {
      if (d.seq === 0) {
        attempts.push({ attempt: ctx.attempt, at: Date.now() });
        if (ctx.attempt < 3) throw new TransientError("not yet");
      }
      handled.push(d.seq);
    }).ready;
    await b.publish(OrderPlaced, { orderId: "r", seq: 0, totalCents: 1 });
    await waitFor(() => attempts.length === 1, 10_000, "the first attempt");
    // Concurrency 1: handled during the backoff only if the failed delivery no longer holds the lane.
    await b.publish(OrderPlaced, { orderId: "other", seq: 1, totalCents: 1 });
    await waitFor(() => handled.includes(1), 10_000, "the other message");
    expect(attempts).toHaveLength(1);
    await waitFor(() => handled.includes(0), 15_000, "the retried message");
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(1190);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(1190);
    await sleep(300);
    expect(handled.sort()).toEqual([0, 1]);
  });

  it("delay fill - a prefetch full of future messages waits without spinning and loses nothing", async () => {
    const lines: string[] = [];
    const b = await bus({ logger: collectingLogger(lines) });
    const got: Array<{ seq: number; at: number }> = [];
    await b.consume(OrderPlaced, { group: "full", concurrency: 1, prefetch: 2 }, (d) => void got.push({ seq: d.seq, at: Date.now() })).ready;
    const t0 = Date.now();
    for (let i = 0; i < 4; i++) await b.publish(OrderPlaced, { orderId: `f${i}`, seq: i, totalCents: 1 }, { delay: "1500ms" });
    await b.publish(OrderPlaced, { orderId: "now", seq: 9, totalCents: 1 });
    const before = rig.receives();
    await sleep(1000);
    // Each receive waits up to its waitMs (500 ms) or a due time: a handful in a second. A spin makes thousands.
    expect(rig.receives() - before).toBeLessThan(25);
    expect(got).toHaveLength(0);
    expect(lines.some((l) => l.includes("every prefetch slot holds a delayed message"))).toBe(true);
    await waitFor(() => got.length === 5, 15_000, "every message");
    expect(got.map((g) => g.seq).sort()).toEqual([0, 1, 2, 3, 9]);
    for (const g of got) if (g.seq !== 9) expect(g.at - t0).toBeGreaterThanOrEqual(1490);
    await sleep(300);
    expect(got).toHaveLength(5);
  });

  it("delay fill - the due time is the fill's own: the handler's envelope and the dead letter do not carry it", async () => {
    const b = await bus();
    const extensions: Array<Record<string, string>> = [];
    await b.consume(OrderPlaced, { group: "dead", retry: { attempts: 1 } }, (_d, ctx) => {
      extensions.push({ ...ctx.message.extensions });
      throw new PermanentError("bad order");
    }).ready;
    const receipt = await b.publish(OrderPlaced, { orderId: "d", seq: 1, totalCents: 1 }, { delay: "200ms" });
    const store = deadLettersOf(b.transport);
    await waitFor(async () => (await store.count({ group: "dead" })) === 1, 10_000, "the dead letter");
    const [entry] = await store.list({ group: "dead" });
    expect(entry!.messageId).toBe(receipt.id);
    expect(entry!.wire.headers[NOT_BEFORE_HEADER]).toBeUndefined();
    expect(Object.keys(extensions[0]!).some((k) => k.includes("not-before"))).toBe(false);
  });
});
