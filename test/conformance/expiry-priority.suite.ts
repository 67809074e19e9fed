/**
 * Expiry and priority (docs/expiry-priority.md), run on every transport:
 * an expired message is never handled but dead-lettered with reason
 * `expired`; a request expires at its timeout; an invalid `expiresat` is a
 * decode error; higher priority is handled first, natively or by the
 * runtime's fill-in (the target says which through its capabilities), and
 * never reorders one key.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  DiagnosticHeaders, ErrorCodes, RequestTimeoutError, TransientError, defineMessage, type Bus, type DeadLetter,
} from "../../src/index.js";
import { deadLettersOf } from "../support/abilities.js";
import { sleep, waitFor } from "../support/wait.js";
import { useTarget } from "./fixture.js";
import type { ConformanceTarget } from "./target.js";

/** Unkeyed: priority may order any two of them. */
const Job = defineMessage({ type: "conformance.expiry.job", schema: z.object({ n: z.number().int() }) });
/** Keyed: priority must never reorder one key. */
const Step = defineMessage({ type: "conformance.expiry.step", schema: z.object({ key: z.string(), seq: z.number().int() }), key: (s) => s.key });
/** A contract whose messages expire by default. */
const Quote = defineMessage({ type: "conformance.expiry.quote", schema: z.object({ n: z.number().int() }), expiresIn: "1s" });
const QuoteReply = defineMessage({ type: "conformance.expiry.quote-reply", schema: z.object({ n: z.number().int() }) });

function ceHeaders(type: string, id: string, extra: Record<string, string> = {}): Record<string, string> {
  return { "ce-id": id, "ce-source": "plain-client", "ce-type": type, "ce-specversion": "1.0", "content-type": "application/json", ...extra };
}

async function deadLetters(bus: Bus, group: string, n: number): Promise<DeadLetter[]> {
  const store = deadLettersOf(bus.transport);
  await waitFor(async () => (await store.count({ group })) >= n, 20_000, `${n} dead letter(s) in ${group}`);
  return store.list({ group });
}

export function runExpiryPriorityConformance(target: ConformanceTarget): void {
  const fill = target.capabilities.priorities === 0 ? "runtime fill-in" : `native, ${target.capabilities.priorities} levels`;
  describe(`expiry and priority - ${target.name} (${fill})`, () => {
    const fx = useTarget(target, "expiry");

    it("expiry - a message published with expiresIn 1 s to a stopped consumer is dead-lettered expired, never handled", async () => {
      const b = await fx.bus();
      await b.declare([Job, Quote], "late");
      await b.publish(Job, { n: 1 }, { expiresIn: "1s" });
      await b.publish(Quote, { n: 2 }); // the contract's default
      await b.publish(Job, { n: 3 }, { expiresIn: "1m" });
      await sleep(2000);
      const handled: number[] = [];
      await b.consume([Job, Quote], { group: "late" }, (d) => void handled.push(d.n)).ready;
      const entries = await deadLetters(b, "late", 2);
      await waitFor(() => handled.length === 1, 10_000, "the unexpired message");
      expect(handled).toEqual([3]);
      expect(entries).toHaveLength(2);
      for (const e of entries) {
        expect(e.wire.headers[DiagnosticHeaders.reason]).toBe("expired");
        expect(e.wire.headers[DiagnosticHeaders.errorCode]).toBe(ErrorCodes.EXPIRED);
      }
    });

    it("expiry - a message retried past its expiry is dead-lettered expired, not retried again", async () => {
      const b = await fx.bus();
      let calls = 0;
      await b.consume(Job, { group: "retry-late", retry: { delays: ["1500ms"], attempts: 5 } }, () => {
        calls++;
        throw new TransientError("not yet");
      }).ready;
      await b.publish(Job, { n: 1 }, { expiresIn: "1s" });
      const [entry] = await deadLetters(b, "retry-late", 1);
      expect(entry!.wire.headers[DiagnosticHeaders.reason]).toBe("expired");
      await sleep(2000);
      expect(calls).toBe(1);
      expect(await deadLettersOf(b.transport).count({ group: "retry-late" })).toBe(1);
    });

    it("expiry - a request whose reply comes too late is not handled by a late consumer", async () => {
      const client = await fx.bus({ service: "client" });
      const server = await fx.bus({ service: "server" });
      await server.declare(Job, "slow-server");
      const err = await client.request(Job, { n: 1 }, { reply: QuoteReply, timeout: "500ms" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RequestTimeoutError);
      await sleep(700);
      let calls = 0;
      await server.consume(Job, { group: "slow-server" }, async (d, ctx) => {
        calls++;
        await ctx.reply(QuoteReply, { n: d.n });
      }).ready;
      const [entry] = await deadLetters(server, "slow-server", 1);
      expect(entry!.wire.headers[DiagnosticHeaders.reason]).toBe("expired");
      expect(calls).toBe(0);
    });

    it("expiry - from a plain client: a past expiresat is expired, an invalid one is a decode error", async () => {
      const b = await fx.bus();
      const handled: string[] = [];
      await b.consume(Job, { group: "plain-expiry" }, (_d, ctx) => void handled.push(ctx.message.id)).ready;
      const body = Buffer.from('{"n":1}');
      await fx.h.plain.publish(Job.type, ceHeaders(Job.type, "past", { "ce-expiresat": "2020-01-01T00:00:00Z" }), body);
      await fx.h.plain.publish(Job.type, ceHeaders(Job.type, "unix-ms", { "ce-expiresat": "1767225600000" }), body);
      await fx.h.plain.publish(Job.type, ceHeaders(Job.type, "bad-priority", { "ce-priority": "high" }), body);
      await fx.h.plain.publish(Job.type, ceHeaders(Job.type, "future", { "ce-expiresat": "2999-01-01T00:00:00+01:00", "ce-priority": "3" }), body);
      const entries = await deadLetters(b, "plain-expiry", 3);
      await waitFor(() => handled.length === 1, 10_000, "the valid message");
      expect(handled).toEqual(["future"]);
      const byId = new Map(entries.map((e) => [e.messageId, e.wire.headers]));
      expect(byId.get("past")?.[DiagnosticHeaders.reason]).toBe("expired");
      expect(byId.get("unix-ms")?.[DiagnosticHeaders.errorCode]).toBe(ErrorCodes.DECODE);
      expect(byId.get("unix-ms")?.[DiagnosticHeaders.errorMessage]).toMatch(/expiresat/);
      expect(byId.get("bad-priority")?.[DiagnosticHeaders.errorCode]).toBe(ErrorCodes.DECODE);
    });

    it("priority - a backlog of low-priority messages then a high one: the high one is handled before most of the backlog", async () => {
      const b = await fx.bus();
      await b.declare(Job, "backlog");
      const backlog = 30;
      for (let n = 0; n < backlog; n++) await b.publish(Job, { n }, { priority: 1 });
      await b.publish(Job, { n: 999 }, { priority: 9 });
      const order: number[] = [];
      await b.consume(Job, { group: "backlog", concurrency: 1, prefetch: 64 }, async (d) => {
        order.push(d.n);
        await sleep(10);
      }).ready;
      await waitFor(() => order.length === backlog + 1, 20_000, "the whole backlog");
      expect(order.indexOf(999)).toBeLessThan(backlog / 2);
      // The backlog itself keeps its order (one priority).
      expect(order.filter((n) => n !== 999)).toEqual(Array.from({ length: backlog }, (_, i) => i));
    });

    it("priority - key order is never broken by priority", async () => {
      const b = await fx.bus();
      await b.declare(Step, "keyed");
      const keys = ["a", "b", "c"];
      for (let seq = 0; seq < 12; seq++) {
        for (const key of keys) await b.publish(Step, { key, seq }, { priority: (seq * 7 + key.charCodeAt(0)) % 10 });
      }
      const seen = new Map<string, number[]>();
      await b.consume(Step, { group: "keyed", ordered: true, concurrency: 2, prefetch: 64 }, async (d) => {
        seen.set(d.key, [...(seen.get(d.key) ?? []), d.seq]);
        await sleep(2);
      }).ready;
      await waitFor(() => [...seen.values()].reduce((n, s) => n + s.length, 0) === 36, 20_000, "every step");
      for (const key of keys) expect(seen.get(key), key).toEqual(Array.from({ length: 12 }, (_, i) => i));
    });
  });
}
