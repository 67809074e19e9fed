/**
 * The runtime over the transport: what the consumer must do whatever the
 * handler does, run on every transport the seam suite runs on (a bus made on
 * the target's own transport). Whatever a handler throws, and a handler that
 * never resolves, end as retries and then a dead letter, with nothing held,
 * no slot taken and no key blocked (issue 14).
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { afterEach, expect, it } from "vitest";
import { missive } from "../connect.js";
import { defineMessage, type MessageDefinition } from "../contract/define-message.js";
import type { Bus } from "../runtime/bus.js";
import type { Consumer } from "../runtime/consumer.js";
import { PermanentError } from "../errors.js";
import { hasNativeDeadLetters } from "../transport/abilities.js";
import type { SeamContext } from "./seam-context.js";

interface Job {
  readonly id: string;
  readonly key: string;
}

/** A Standard Schema of its own: the suite needs no validation library. */
const jobSchema: StandardSchemaV1<Job, Job> = {
  "~standard": {
    version: 1,
    vendor: "missive-seam",
    validate: (value) => {
      const v = value as Partial<Job> | null;
      return typeof v === "object" && v !== null && typeof v.id === "string" && typeof v.key === "string"
        ? { value: { id: v.id, key: v.key } }
        : { issues: [{ message: "expected { id, key }" }] };
    },
  },
};

const trap = (): never => {
  throw new Error("seam suite: a trap of the hostile value");
};

/** Values a handler may throw whose reading throws: the failure path must still settle the delivery. */
const HOSTILE: ReadonlyArray<readonly [string, () => unknown]> = [
  ["a getter on code that throws", () => Object.defineProperty(new Error("hostile"), "code", { get: trap })],
  ["a getter on message that throws", () => Object.defineProperty(new Error("hostile"), "message", { get: trap })],
  ["a Proxy whose traps throw", () => new Proxy({}, { get: trap, has: trap, getPrototypeOf: trap, ownKeys: trap, getOwnPropertyDescriptor: trap })],
  ["undefined", () => undefined],
];

/**
 * Headers a broker takes but a dead letter might not, once its diagnostics are added: 5,350 one-byte headers
 * (about 63 KiB as an AMQP table, just under amqplib's 64 KiB) from a plain client.
 */
const OVERSIZED_HEADERS = 5350;

/** Settled within this on any transport of the suite (retries take the in-process fill where there is no native delay). */
const SETTLE_WITHIN_MS = 20_000;

export function runtimeTests(s: SeamContext): void {
  const buses: Bus[] = [];
  afterEach(async () => {
    const results = await Promise.allSettled(buses.splice(0).map((b) => b.close({ deadline: 500 })));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  });

  async function busAndJob(): Promise<{ bus: Bus; job: MessageDefinition<string, Job, Job> }> {
    const bus = await missive({ service: "seam-runtime", transport: await s.target.open() });
    buses.push(bus);
    const job = defineMessage({ type: s.name("seam.job"), schema: jobSchema, key: (j) => j.key });
    return { bus, job };
  }

  async function allDeadLettered(consumer: Consumer, count: number): Promise<void> {
    const deadline = Date.now() + SETTLE_WITHIN_MS;
    while (consumer.stats().deadLettered < count) {
      if (Date.now() > deadline) throw new Error(`seam suite: ${count} dead letters expected, stats ${JSON.stringify(consumer.stats())}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  for (const [what, hostile] of HOSTILE) {
    it(`seam - runtime: a handler throwing ${what} is retried, then dead-lettered; nothing stays held, no key stays blocked`, async () => {
      const { bus, job } = await busAndJob();
      let calls = 0;
      // One slot and two held: were a delivery left held, the fourth message (same key as the first) never ran.
      const consumer = bus.consume(job, { group: s.name("hostile"), concurrency: 1, prefetch: 2, retry: { attempts: 2, delays: ["10ms"] }, breaker: false }, () => {
        calls++;
        throw hostile();
      });
      await consumer.ready;
      for (let i = 0; i < 4; i++) await bus.publish(job, { id: `h${i}`, key: `k${i % 3}` });
      await allDeadLettered(consumer, 4);
      expect(calls).toBe(8);
      expect(consumer.stats()).toMatchObject({ held: 0, inFlight: 0, settleFailures: 0, retried: 4, deadLettered: 4 });
    });
  }

  it("seam - runtime: a handler that never resolves times out, is retried, then dead-lettered; its slot and key are freed", async () => {
    const { bus, job } = await busAndJob();
    let calls = 0;
    const aborted: unknown[] = [];
    const consumer = bus.consume(job, { group: s.name("hung"), concurrency: 1, prefetch: 2, timeout: "150ms", retry: { attempts: 2, delays: ["10ms"] }, breaker: false }, (_data, ctx) => {
      calls++;
      ctx.signal.addEventListener("abort", () => aborted.push(ctx.signal.reason), { once: true });
      return new Promise<void>(() => {
        // Never settles: the timeout alone must free the slot.
      });
    });
    await consumer.ready;
    for (let i = 0; i < 3; i++) await bus.publish(job, { id: `n${i}`, key: "same" });
    await allDeadLettered(consumer, 3);
    expect(calls).toBe(6);
    expect(aborted).toHaveLength(6);
    expect(consumer.stats()).toMatchObject({ held: 0, inFlight: 0, settleFailures: 0, retried: 3, deadLettered: 3 });
  });

  const plain = s.target.plain;
  if (plain && s.features.nativeDeadLetters) {
    it("seam - runtime: plain-client messages with 5,350 headers are dead-lettered with every header kept; the consumer goes on, nothing held", async () => {
      const t = await s.target.open();
      const bus = await missive({ service: "seam-runtime", transport: t, limits: { maxHeaderCount: 10_000, maxHeadersBytes: 256 * 1024 } });
      buses.push(bus);
      const job = defineMessage({ type: s.name("seam.big"), schema: jobSchema });
      const group = s.name("oversized");
      const handled: string[] = [];
      const consumer = bus.consume(job, { group, concurrency: 2, breaker: false }, (data) => {
        if (data.key === "bad") throw new PermanentError("seam suite: refused");
        handled.push(data.id);
      });
      await consumer.ready;
      const headersOf = (id: string, many: boolean): Record<string, string> => {
        const h: Record<string, string> = { "ce-id": id, "ce-source": "plain", "ce-type": job.type, "ce-specversion": "1.0", "content-type": "application/json" };
        if (many) for (let i = 0; i < OVERSIZED_HEADERS; i++) h[`h${String(i).padStart(4, "0")}`] = String(i % 10);
        return h;
      };
      const BAD = 5;
      for (let i = 0; i < BAD; i++) await plain.publish(job.type, { headers: headersOf(`big-${i}`, true), body: new TextEncoder().encode(JSON.stringify({ id: `big-${i}`, key: "bad" })) });
      await plain.publish(job.type, { headers: headersOf("fine", false), body: new TextEncoder().encode(JSON.stringify({ id: "fine", key: "good" })) });
      const deadline = Date.now() + SETTLE_WITHIN_MS;
      // Held drops once the good message's ack has committed, a moment after its handler returned.
      while (consumer.stats().deadLettered < BAD || handled.length < 1 || consumer.stats().held > 0) {
        if (Date.now() > deadline) throw new Error(`seam suite: ${BAD} dead letters and one handled expected, stats ${JSON.stringify(consumer.stats())}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(handled).toEqual(["fine"]);
      expect(consumer.stats()).toMatchObject({ held: 0, inFlight: 0, settleFailures: 0, deadLettered: BAD, state: "running" });
      if (!hasNativeDeadLetters(t)) throw new Error(`${t.name}: declared nativeDeadLetters but has no deadLetters store`);
      const [entry] = await t.deadLetters.list({ group, messageId: "big-3" });
      expect(entry).toBeDefined();
      const sent = headersOf("big-3", true);
      const kept = Object.keys(sent).filter((name) => entry!.wire.headers[name] === sent[name]);
      expect(kept).toHaveLength(Object.keys(sent).length);
    });
  }
}
