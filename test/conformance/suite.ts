/**
 * The conformance suite: every promise of DESIGN.md's delivery contract, run
 * unchanged against every transport on its real broker. A transport is done
 * when this passes.
 */
import { describe, expect, it } from "vitest";
import {
  DiagnosticHeaders, ErrorCodes, PermanentError, RequestTimeoutError, SchemaValidationError, TransientError,
  UnroutableError, decodeEnvelope, DEFAULT_LIMITS, type Bus, type Envelope, type MissiveError,
} from "../../src/index.js";
import { sleep, waitFor } from "../support/wait.js";
import { OrderPlaced, Ping, Pong } from "./contracts.js";
import { runOperateConformance } from "./operate.suite.js";
import { useTarget } from "./fixture.js";
import type { ConformanceTarget } from "./target.js";
import { deadLettersOf } from "../support/abilities.js";

const enc = (s: string): Uint8Array => Buffer.from(s);

function ceHeaders(type: string, id: string, extra: Record<string, string> = {}): Record<string, string> {
  return { "ce-id": id, "ce-source": "plain-client", "ce-type": type, "ce-specversion": "1.0", "content-type": "application/json", ...extra };
}

export function runConformance(target: ConformanceTarget): void {
  runOperateConformance(target);
  describe(`conformance - ${target.name}`, () => {
    const fx = useTarget(target, "conformance");
    const bus = (service?: string): Promise<Bus> => fx.bus(service === undefined ? {} : { service });

    it("round trip - body, headers and every CloudEvents attribute intact", async () => {
      const producer = await bus("checkout");
      const got: Array<{ data: unknown; env: Envelope }> = [];
      const c = producer.consume(OrderPlaced, { group: "billing" }, (data, ctx) => {
        got.push({ data, env: ctx.message });
      });
      await c.ready;
      const receipt = await producer.publish(OrderPlaced, { orderId: "o-1", seq: 1, totalCents: 15900 }, {
        correlationId: "corr-1", causationId: "cause-1", extensions: { tenant: "acme" },
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "vendor=1",
      });
      await waitFor(() => got.length === 1, 10_000, "the message");
      const { data, env } = got[0]!;
      expect(data).toEqual({ orderId: "o-1", seq: 1, totalCents: 15900 });
      expect(env.id).toBe(receipt.id);
      expect(env.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(env).toMatchObject({
        source: "checkout", type: OrderPlaced.type, specversion: "1.0", datacontenttype: "application/json",
        dataschema: `${OrderPlaced.type}/v2`, key: "o-1", correlationid: "corr-1", causationid: "cause-1",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "vendor=1",
      });
      expect(env.extensions["tenant"]).toBe("acme");
      expect(Math.abs(Date.parse(env.time) - Date.now())).toBeLessThan(60_000);
    });

    it("round trip - structured content mode carries the same envelope", async () => {
      const producer = await fx.bus({ service: "structured", contentMode: "structured" });
      const got: Envelope[] = [];
      await producer.consume(Ping, { group: "g" }, (_d, ctx) => void got.push(ctx.message)).ready;
      const r = await producer.publish(Ping, { n: 7 }, { extensions: { tenant: "x" } });
      await waitFor(() => got.length === 1, 10_000, "the structured message");
      expect(got[0]).toMatchObject({ id: r.id, type: Ping.type, data: { n: 7 }, source: "structured" });
      expect(got[0]!.extensions["tenant"]).toBe("x");
    });

    it("publish - invalid data rejects with a typed error before anything is sent", async () => {
      const b = await bus();
      await b.declare(OrderPlaced, "billing");
      await expect(b.publish(OrderPlaced, { orderId: 1 } as never)).rejects.toBeInstanceOf(SchemaValidationError);
      expect(await fx.h.plain.take("billing", 10)).toHaveLength(0);
    });

    it("publish - a message nobody is bound to is an UnroutableError, not a silent drop", async () => {
      const b = await bus();
      const err = await b.publish(Ping, { n: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnroutableError);
      expect((err as MissiveError).code).toBe(ErrorCodes.UNROUTABLE);
    });

    it("publish - oversized rejects with MessageTooLargeError", async () => {
      const b = await fx.bus({ service: "small", limits: { maxBodyBytes: 1024 } });
      await b.declare(OrderPlaced, "billing");
      const err = await b.publish(OrderPlaced, { orderId: "x".repeat(5000), seq: 1, totalCents: 1 }).catch((e: unknown) => e);
      expect((err as MissiveError).code).toBe(ErrorCodes.TOO_LARGE);
    });

    it("volume - 10,000 messages, none lost, none duplicated while nothing fails", async () => {
      const b = await bus();
      const seen = new Map<number, number>();
      await b.consume(OrderPlaced, { group: "volume", concurrency: 16 }, (d) => {
        seen.set(d.seq, (seen.get(d.seq) ?? 0) + 1);
      }).ready;
      const n = 10_000;
      const publishes: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) publishes.push(b.publish(OrderPlaced, { orderId: `k${i % 100}`, seq: i, totalCents: i }));
      await Promise.all(publishes);
      await waitFor(() => seen.size === n, 60_000, `${n} messages`);
      await sleep(200);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
    }, 120_000);

    it("groups - competing consumers split one group's messages", async () => {
      const a = await bus("a");
      const b = await bus("b");
      const byA = new Set<number>();
      const byB = new Set<number>();
      const slow = (): Promise<void> => sleep(2);
      await a.consume(OrderPlaced, { group: "workers", concurrency: 2 }, async (d) => { byA.add(d.seq); await slow(); }).ready;
      await b.consume(OrderPlaced, { group: "workers", concurrency: 2 }, async (d) => { byB.add(d.seq); await slow(); }).ready;
      await Promise.all(Array.from({ length: 400 }, (_, i) => a.publish(OrderPlaced, { orderId: `k${i}`, seq: i, totalCents: 1 })));
      await waitFor(() => byA.size + byB.size >= 400, 30_000, "400 messages");
      expect(byA.size).toBeGreaterThan(0);
      expect(byB.size).toBeGreaterThan(0);
      expect(new Set([...byA, ...byB]).size).toBe(400);
      expect([...byA].filter((s) => byB.has(s))).toHaveLength(0);
    });

    it("groups - two groups each get every message", async () => {
      const b = await bus();
      const billing: number[] = [];
      const shipping: number[] = [];
      await b.consume(OrderPlaced, { group: "billing" }, (d) => void billing.push(d.seq)).ready;
      await b.consume(OrderPlaced, { group: "shipping" }, (d) => void shipping.push(d.seq)).ready;
      await Promise.all(Array.from({ length: 100 }, (_, i) => b.publish(OrderPlaced, { orderId: "k", seq: i, totalCents: 1 })));
      await waitFor(() => billing.length === 100 && shipping.length === 100, 20_000, "both groups");
      expect(new Set(billing).size).toBe(100);
      expect(new Set(shipping).size).toBe(100);
    });

    it("ack - only after the handler: a consumer killed mid-handler has its message redelivered", async () => {
      const victim = await fx.h.bus({ service: "victim" });
      let started = 0;
      await victim.consume(OrderPlaced, { group: "crashy", lease: fx.h.leaseMs }, async () => {
        started++;
        await new Promise(() => {}); // never finishes: the process dies first
      }).ready;
      await victim.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 });
      await waitFor(() => started === 1, 10_000, "the handler to start");
      await fx.h.kill(victim);
      const survivor = await bus("survivor");
      const got: Array<{ seq: number; attempt: number }> = [];
      await survivor.consume(OrderPlaced, { group: "crashy", lease: fx.h.leaseMs }, (d, ctx) => void got.push({ seq: d.seq, attempt: ctx.attempt })).ready;
      await waitFor(() => got.length === 1, fx.h.leaseMs * 4 + 10_000, "redelivery");
      expect(got[0]!.seq).toBe(1);
      expect(got[0]!.attempt).toBe(2);
    });

    it("ordering - per-key order under concurrency 32", async () => {
      const b = await bus();
      const byKey = new Map<string, number[]>();
      let running = 0;
      let peak = 0;
      await b.consume(OrderPlaced, { group: "ordered", ordered: true, concurrency: 32 }, async (d) => {
        running++;
        peak = Math.max(peak, running);
        await sleep(Math.random() * 3);
        const list = byKey.get(d.orderId) ?? [];
        list.push(d.seq);
        byKey.set(d.orderId, list);
        running--;
      }).ready;
      const keys = 40;
      const perKey = 25;
      const publishes: Promise<unknown>[] = [];
      for (let i = 0; i < perKey; i++) for (let k = 0; k < keys; k++) publishes.push(b.publish(OrderPlaced, { orderId: `key-${k}`, seq: i, totalCents: 1 }));
      await Promise.all(publishes);
      await waitFor(() => [...byKey.values()].reduce((n, l) => n + l.length, 0) === keys * perKey, 60_000, "all ordered messages");
      for (const list of byKey.values()) expect(list).toEqual(Array.from({ length: perKey }, (_, i) => i));
      expect(peak).toBeGreaterThan(1);
      expect(peak).toBeLessThanOrEqual(32);
    });

    it("ordering - a retrying message holds back only its own key", async () => {
      const b = await bus();
      const order: Array<[string, number]> = [];
      const failedOnce = new Set<number>();
      await b.consume(OrderPlaced, { group: "ordered-retry", ordered: true, concurrency: 8, retry: { delays: ["150ms"], attempts: 3 } }, (d) => {
        if (d.orderId === "stuck" && d.seq % 3 === 0 && !failedOnce.has(d.seq)) {
          failedOnce.add(d.seq);
          throw new TransientError("flaky downstream");
        }
        order.push([d.orderId, d.seq]);
      }).ready;
      const t0 = Date.now();
      let freeDoneAt = 0;
      for (let i = 0; i < 10; i++) {
        await b.publish(OrderPlaced, { orderId: "stuck", seq: i, totalCents: 1 });
        await b.publish(OrderPlaced, { orderId: "free", seq: i, totalCents: 1 });
      }
      await waitFor(() => {
        if (!freeDoneAt && order.filter(([k]) => k === "free").length === 10) freeDoneAt = Date.now();
        return order.length === 20;
      }, 30_000, "all 20 messages");
      expect(order.filter(([k]) => k === "stuck").map(([, s]) => s)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(order.filter(([k]) => k === "free").map(([, s]) => s)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // "stuck" waits through four 150 ms retries; "free" must not wait behind them.
      expect(freeDoneAt - t0).toBeLessThan(Date.now() - t0);
      expect(failedOnce.size).toBe(4);
    });

    it("retry - the delay ladder is honoured, then the attempt budget dead-letters with diagnostics", async () => {
      const b = await bus();
      const times: number[] = [];
      const attempts: number[] = [];
      await b.consume(OrderPlaced, { group: "ladder", retry: { delays: ["200ms", "400ms"] } }, (_d, ctx) => {
        times.push(Date.now());
        attempts.push(ctx.attempt);
        throw new TransientError("still down");
      }).ready;
      const r = await b.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 });
      await waitFor(async () => (await deadLettersOf(b.transport).count({ group: "ladder" })) === 1, 15_000, "the dead letter");
      expect(attempts).toEqual([1, 2, 3]);
      const gap1 = times[1]! - times[0]!;
      const gap2 = times[2]! - times[1]!;
      expect(gap1).toBeGreaterThanOrEqual(180);
      expect(gap2).toBeGreaterThanOrEqual(380);
      expect(gap1).toBeLessThan(200 + 3000);
      expect(gap2).toBeLessThan(400 + 3000);
      const [entry] = await deadLettersOf(b.transport).list({ group: "ladder" });
      const hd = entry!.wire.headers;
      expect(hd["ce-id"]).toBe(r.id);
      expect(hd[DiagnosticHeaders.errorClass]).toBe("TransientError");
      expect(hd[DiagnosticHeaders.errorCode]).toBe(ErrorCodes.TRANSIENT);
      expect(hd[DiagnosticHeaders.errorMessage]).toBe("still down");
      expect(hd[DiagnosticHeaders.errorStack]).toContain("TransientError");
      expect(hd[DiagnosticHeaders.attempts]).toBe("3");
      expect(hd[DiagnosticHeaders.reason]).toBe("attempts-exhausted");
      expect(hd[DiagnosticHeaders.group]).toBe("ladder");
      expect(hd[DiagnosticHeaders.source]).toBe(OrderPlaced.type);
      expect(hd[DiagnosticHeaders.host]).toBeTruthy();
      expect(hd[DiagnosticHeaders.version]).toMatch(/^\d+\.\d+\.\d+/);
      expect(Date.parse(hd[DiagnosticHeaders.firstFailure]!)).toBeLessThanOrEqual(Date.parse(hd[DiagnosticHeaders.lastFailure]!));
      const decoded = decodeEnvelope(entry!.wire, DEFAULT_LIMITS);
      expect(decoded.ok && decoded.envelope.data).toEqual({ orderId: "k", seq: 1, totalCents: 1 });
    });

    it("retry - PermanentError dead-letters at once", async () => {
      const b = await bus();
      let calls = 0;
      await b.consume(OrderPlaced, { group: "perm" }, () => {
        calls++;
        throw new PermanentError("card declined for good");
      }).ready;
      await b.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 });
      await waitFor(async () => (await deadLettersOf(b.transport).count({ group: "perm" })) === 1, 10_000, "the dead letter");
      expect(calls).toBe(1);
    });

    it("poison - bad JSON, schema violation, unknown type, unknown version, oversized, hostile: dead-lettered at once with the reason", async () => {
      const b = await bus();
      let calls = 0;
      const consumer = b.consume([OrderPlaced, Ping], { group: "poison", concurrency: 4 }, () => void calls++);
      await consumer.ready;
      const T = OrderPlaced.type;
      const cases: Array<{ name: string; topic: string; headers: Record<string, string>; body: Uint8Array; code: string }> = [
        { name: "bad json", topic: T, headers: ceHeaders(T, "p-json"), body: enc("{not json"), code: ErrorCodes.DECODE },
        { name: "bad utf8", topic: T, headers: ceHeaders(T, "p-utf8"), body: Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]), code: ErrorCodes.DECODE },
        { name: "schema", topic: T, headers: ceHeaders(T, "p-schema", { "ce-dataschema": `${T}/v2` }), body: enc('{"orderId":5}'), code: ErrorCodes.SCHEMA },
        { name: "unknown type", topic: T, headers: ceHeaders("conformance.nobody", "p-type"), body: enc("{}"), code: ErrorCodes.UNKNOWN_TYPE },
        { name: "unknown version", topic: T, headers: ceHeaders(T, "p-version", { "ce-dataschema": `${T}/v9` }), body: enc("{}"), code: ErrorCodes.UNKNOWN_VERSION },
        { name: "oversized", topic: T, headers: ceHeaders(T, "p-big"), body: enc(JSON.stringify({ pad: "x".repeat(DEFAULT_LIMITS.maxBodyBytes + 10) })), code: ErrorCodes.TOO_LARGE },
        { name: "proto keys", topic: T, headers: ceHeaders(T, "p-proto"), body: enc('{"orderId":"a","seq":1,"totalCents":1,"__proto__":{"polluted":true}}'), code: ErrorCodes.DECODE },
        { name: "missing attributes", topic: T, headers: { "content-type": "application/json", "ce-id": "p-missing" }, body: enc("{}"), code: ErrorCodes.DECODE },
        { name: "huge header", topic: T, headers: ceHeaders(T, "p-hdr", { "x-huge": "h".repeat(DEFAULT_LIMITS.maxHeaderBytes + 1) }), body: enc("{}"), code: ErrorCodes.TOO_LARGE },
      ];
      for (const c of cases) await fx.h.plain.publish(c.topic, c.headers, c.body);
      // A valid v1 message is upcast, proving the worker is still alive after the poison.
      await fx.h.plain.publish(T, ceHeaders(T, "ok-v1", { "ce-dataschema": `${T}/v1`, "ce-key": "a" }), enc('{"orderId":"a","seq":1,"total":1.5}'));
      await waitFor(async () => (await deadLettersOf(b.transport).count({ group: "poison" })) === cases.length && calls === 1, 20_000, "every poison message dead-lettered");
      expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
      const entries = await deadLettersOf(b.transport).list({ group: "poison", limit: 100 });
      for (const c of cases) {
        const e = entries.find((x) => x.wire.headers["ce-id"] === c.headers["ce-id"]);
        expect(e, c.name).toBeDefined();
        expect(e!.wire.headers[DiagnosticHeaders.errorCode], c.name).toBe(c.code);
        expect(e!.wire.headers[DiagnosticHeaders.attempts], c.name).toBe("1");
        expect(e!.wire.headers[DiagnosticHeaders.reason], c.name).toBe("poison");
        expect(Buffer.from(e!.wire.body).equals(Buffer.from(c.body)), `${c.name}: body untouched`).toBe(true);
      }
    });

    it("redrive - keeps the message id, and the inbox deduplicates it", async () => {
      const b = await bus();
      let broken = true;
      const effects: string[] = [];
      await b.consume(OrderPlaced, { group: "redrive", idempotency: "inbox" }, async (d, ctx) => {
        if (broken) throw new PermanentError("bug in handler");
        await ctx.transaction(() => void effects.push(ctx.message.id));
      }).ready;
      const r = await b.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 });
      const store = deadLettersOf(b.transport);
      await waitFor(async () => (await store.count({ group: "redrive" })) === 1, 10_000, "the dead letter");
      broken = false;
      const [entry] = await store.list({ group: "redrive" });
      expect(await store.replay([entry!.entryId])).toBe(1);
      await waitFor(() => effects.length === 1, 10_000, "the redriven message");
      expect(effects[0]).toBe(r.id);
      expect(await store.count({ group: "redrive" })).toBe(0);
      // The same message again (a producer retry, a second redrive): no second effect.
      await b.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 }, { id: r.id });
      await sleep(500);
      expect(effects).toEqual([r.id]);
    });

    it("request-reply - the reply comes back, and a request nobody answers times out with a typed error", async () => {
      const server = await bus("server");
      const client = await bus("client");
      await server.consume(Ping, { group: "pinger" }, async (d, ctx) => {
        await ctx.reply(Pong, { n: d.n + 1 });
      }).ready;
      await expect(client.request(Ping, { n: 41 }, { reply: Pong, timeout: "10s" })).resolves.toEqual({ n: 42 });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => client.request(Ping, { n: i }, { reply: Pong, timeout: "10s" })));
      expect(results.map((x) => x.n)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      await client.declare(OrderPlaced, "nobody-answers");
      const err = await client.request(OrderPlaced, { orderId: "x", seq: 1, totalCents: 1 }, { reply: Pong, timeout: "300ms" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RequestTimeoutError);
    });

    it("bounds - in-flight handlers never exceed concurrency, held deliveries never exceed prefetch", async () => {
      const b = await bus();
      let running = 0;
      let peak = 0;
      let peakHeld = 0;
      let done = 0;
      const c = b.consume(OrderPlaced, { group: "bounded", concurrency: 4, prefetch: 6 }, async () => {
        running++;
        peak = Math.max(peak, running);
        peakHeld = Math.max(peakHeld, c.stats().held);
        await sleep(1 + Math.random() * 4);
        running--;
        done++;
      });
      await c.ready;
      await Promise.all(Array.from({ length: 300 }, (_, i) => b.publish(OrderPlaced, { orderId: `k${i}`, seq: i, totalCents: 1 })));
      await waitFor(() => done === 300, 30_000, "300 handled");
      expect(peak).toBe(4);
      expect(peakHeld).toBeLessThanOrEqual(6);
      expect(c.stats().peakInFlight).toBeLessThanOrEqual(4);
    });

    it("close - messages whose handler never started go back without using up an attempt", async () => {
      const first = await fx.h.bus({ service: "first" });
      await first.declare(OrderPlaced, "restarts");
      for (let i = 0; i < 5; i++) await first.publish(OrderPlaced, { orderId: `r${i}`, seq: i, totalCents: 1 });
      let started = 0;
      const c = first.consume(OrderPlaced, { group: "restarts", concurrency: 1, prefetch: 5, lease: fx.h.leaseMs }, async (_d, ctx) => {
        started++;
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
        throw new TransientError("cut off by close");
      });
      await c.ready;
      await waitFor(() => started === 1 && c.stats().held === 5, 10_000, "one handler running, five held");
      await first.close({ deadline: 200 });
      const attempts = new Map<number, number>();
      const second = await bus("second");
      await second.consume(OrderPlaced, { group: "restarts", lease: fx.h.leaseMs }, (d, ctx) => void attempts.set(d.seq, ctx.attempt)).ready;
      await waitFor(() => attempts.size === 5, 15_000, "all five redelivered");
      const started0 = [...attempts].filter(([, a]) => a === 2).map(([seq]) => seq);
      expect(started0, "only the message whose handler ran counts a second attempt").toHaveLength(1);
      expect([...attempts.values()].filter((a) => a === 1)).toHaveLength(4);
    });

    it("close - under load, nothing is lost: what was not finished is redelivered", async () => {
      const first = await fx.h.bus({ service: "first" });
      const handled = new Set<number>();
      const n = 2000;
      await first.consume(OrderPlaced, { group: "closing", concurrency: 8, lease: fx.h.leaseMs }, async (d) => {
        await sleep(5 + Math.random() * 5);
        handled.add(d.seq);
      }).ready;
      await Promise.all(Array.from({ length: n }, (_, i) => first.publish(OrderPlaced, { orderId: `k${i % 10}`, seq: i, totalCents: 1 })));
      await waitFor(() => handled.size > 50, 20_000, "some progress");
      await first.close({ deadline: 2000 });
      const before = handled.size;
      expect(before).toBeLessThan(n);
      const second = await bus("second");
      await second.consume(OrderPlaced, { group: "closing", concurrency: 8, lease: fx.h.leaseMs }, (d) => void handled.add(d.seq)).ready;
      await waitFor(() => handled.size === n, fx.h.leaseMs * 4 + 30_000, "every message after the restart");
    });

    it("delay - a delayed publish is not delivered before its time, and others are not held behind it", async () => {
      const b = await bus();
      const got: Array<{ seq: number; at: number }> = [];
      await b.consume(OrderPlaced, { group: "delayed" }, (d) => void got.push({ seq: d.seq, at: Date.now() })).ready;
      const t0 = Date.now();
      // On every target: the broker's own delay, or the runtime's where it has none (ADR 008).
      await b.publish(OrderPlaced, { orderId: "a", seq: 1, totalCents: 1 }, { delay: "400ms" });
      await b.publish(OrderPlaced, { orderId: "b", seq: 2, totalCents: 1 });
      await waitFor(() => got.length === 2, 10_000, "both messages");
      expect(got.map((g) => g.seq)).toEqual([2, 1]);
      expect(got[1]!.at - t0).toBeGreaterThanOrEqual(380);
      expect(got[1]!.at - t0).toBeLessThan(400 + 5000);
    });

    it("middleware - user middleware wraps the handler, sees the context, and can fail the attempt", async () => {
      const b = await bus();
      const trail: string[] = [];
      await b.consume(OrderPlaced, {
        group: "mw",
        retry: { delays: ["20ms"], attempts: 2 },
        middleware: [
          (next) => async (data, ctx) => {
            trail.push(`outer:${ctx.attempt}`);
            await next(data, ctx);
            trail.push("outer:after");
          },
          (next) => async (data, ctx) => {
            if (ctx.attempt === 1) throw new TransientError("middleware says not yet");
            trail.push("inner");
            await next(data, ctx);
          },
        ],
      }, () => void trail.push("handler")).ready;
      await b.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 });
      await waitFor(() => trail.includes("outer:after"), 10_000, "the second attempt");
      expect(trail).toEqual(["outer:1", "outer:2", "inner", "handler", "outer:after"]);
    });

    it("timeout - a handler past its timeout fails the attempt (retryable) and sees its signal abort", async () => {
      const b = await bus();
      let aborted = false;
      const attempts: number[] = [];
      await b.consume(OrderPlaced, { group: "slow", timeout: "100ms", retry: { delays: ["10ms"], attempts: 3 } }, async (_d, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt === 1) {
          await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
          aborted = ctx.signal.aborted;
        }
      }).ready;
      await b.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 });
      await waitFor(() => attempts.length === 2, 10_000, "the retry after the timeout");
      expect(attempts).toEqual([1, 2]);
      expect(aborted).toBe(true);
    });

    it("at-most-once - acked before handling: a failing handler's message is not retried", async () => {
      const b = await bus();
      let calls = 0;
      await b.consume(OrderPlaced, { group: "telemetry", delivery: "at-most-once" }, () => {
        calls++;
        throw new TransientError("dropped on purpose");
      }).ready;
      await b.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 });
      await waitFor(() => calls === 1, 10_000, "the handler");
      await sleep(500);
      expect(calls).toBe(1);
      expect(await deadLettersOf(b.transport).count({ group: "telemetry" })).toBe(0);
    });

    it("breaker - consecutive failures pause fetching instead of burning every message's budget", async () => {
      const b = await bus();
      let calls = 0;
      const c = b.consume(OrderPlaced, { group: "breaker", concurrency: 1, retry: { attempts: 100, delays: ["20ms"] }, breaker: { threshold: 3, cooldownMs: 1000, maxCooldownMs: 1000 } }, () => {
        calls++;
        throw new TransientError("dependency down");
      });
      await c.ready;
      await Promise.all(Array.from({ length: 20 }, (_, i) => b.publish(OrderPlaced, { orderId: `k${i}`, seq: i, totalCents: 1 })));
      await waitFor(() => c.stats().breaker === "open", 10_000, "the breaker to open");
      const atOpen = calls;
      await sleep(400);
      // While open, no new fetches: at most the deliveries already held finish their attempt.
      expect(calls - atOpen).toBeLessThanOrEqual(2);
    });

    it("interop - a plain client's CloudEvents message is consumed", async () => {
      const b = await bus();
      const got: Envelope[] = [];
      await b.consume(OrderPlaced, { group: "interop" }, (_d, ctx) => void got.push(ctx.message)).ready;
      await fx.h.plain.publish(OrderPlaced.type, ceHeaders(OrderPlaced.type, "plain-1", { "ce-dataschema": `${OrderPlaced.type}/v2`, "ce-key": "o-9" }), enc('{"orderId":"o-9","seq":3,"totalCents":100}'));
      await fx.h.plain.publish(OrderPlaced.type, { "content-type": "application/cloudevents+json" }, enc(JSON.stringify({
        specversion: "1.0", id: "plain-2", source: "plain-client", type: OrderPlaced.type, datacontenttype: "application/json", data: { orderId: "o-9", seq: 4, totalCents: 200 },
      })));
      await waitFor(() => got.length === 2, 10_000, "both plain messages");
      expect(got.map((e) => e.id).sort()).toEqual(["plain-1", "plain-2"]);
      expect(got.find((e) => e.id === "plain-1")!.data).toEqual({ orderId: "o-9", seq: 3, totalCents: 100 });
    });

    it("interop - a missive message is readable by a plain client", async () => {
      const b = await bus("checkout");
      await b.declare(OrderPlaced, "plain-reader");
      const r = await b.publish(OrderPlaced, { orderId: "o-1", seq: 1, totalCents: 5 });
      const [msg] = await fx.h.plain.take("plain-reader", 10);
      expect(msg).toBeDefined();
      expect(msg!.headers["ce-id"]).toBe(r.id);
      expect(msg!.headers["ce-type"]).toBe(OrderPlaced.type);
      expect(msg!.headers["ce-source"]).toBe("checkout");
      expect(msg!.headers["ce-specversion"]).toBe("1.0");
      expect(msg!.headers["content-type"]).toBe("application/json");
      expect(JSON.parse(Buffer.from(msg!.body).toString("utf8"))).toEqual({ orderId: "o-1", seq: 1, totalCents: 5 });
    });

    it("inbox - each effect happens once under duplicate deliveries", async () => {
      const b = await bus();
      const effects = new Map<string, number>();
      await b.consume(OrderPlaced, { group: "once", idempotency: "inbox", concurrency: 8 }, async (_d, ctx) => {
        await ctx.transaction(() => void effects.set(ctx.message.id, (effects.get(ctx.message.id) ?? 0) + 1));
      }).ready;
      const ids: string[] = [];
      for (let i = 0; i < 50; i++) ids.push((await b.publish(OrderPlaced, { orderId: `k${i}`, seq: i, totalCents: 1 })).id);
      // Every message published again with the same id: what a producer retry or a redrive does.
      for (let i = 0; i < 50; i++) await b.publish(OrderPlaced, { orderId: `k${i}`, seq: i, totalCents: 1 }, { id: ids[i]! });
      await waitFor(() => effects.size === 50, 20_000, "50 effects");
      await sleep(300);
      expect([...effects.values()].every((n) => n === 1)).toBe(true);
    });
  });
}
