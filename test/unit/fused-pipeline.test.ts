/**
 * The fused default pipeline (runtime/fused-pipeline.ts) against the stages it
 * fuses, composed (telemetry → settle → poison → retry with the breaker's
 * observer → handler): for each case, the same outcome, the same broker
 * actions, the same counts and the same outcome recorded by telemetry.
 */
import { describe, expect, it } from "vitest";
import type { ContractRegistry } from "../../src/contract/registry.js";
import type { PendingOr } from "../../src/contract/validate.js";
import { PermanentError, TransientError } from "../../src/errors.js";
import { poisonStage } from "../../src/middleware/poison.js";
import { afterAttempt, retryStage, type RetryStageOptions } from "../../src/middleware/retry.js";
import { deliveryTelemetry, telemetryStage } from "../../src/middleware/telemetry.js";
import { noopLogger } from "../../src/observability/logger.js";
import { CircuitBreaker } from "../../src/runtime/circuit-breaker.js";
import type { ConsumerMetrics } from "../../src/runtime/consumer-metrics.js";
import { fusedPipeline } from "../../src/runtime/fused-pipeline.js";
import type { Handler } from "../../src/runtime/handler-context.js";
import { composeStages, stagePipeline, type Outcome, type PipelineEnds, type Stage } from "../../src/runtime/outcome.js";
import type { Producer } from "../../src/runtime/producer.js";
import { attemptRunner, handlerStage } from "../../src/runtime/run-handler.js";
import { Settler, settleStage } from "../../src/runtime/settle.js";
import type { Transport } from "../../src/transport/transport.js";
import { FakeDelivery, job } from "../support/stage-jobs.js";

interface Case {
  readonly name: string;
  readonly handler: Handler<unknown, unknown>;
  readonly read?: () => PendingOr<unknown>;
  readonly key?: string;
  readonly refuseAck?: boolean;
  /** The breaker's observer throws (a bug in a stage): the settle stage settles it as failed. */
  readonly observeThrows?: boolean;
  readonly brokerRetry?: boolean;
}

const CASES: Case[] = [
  { name: "sync handler", handler: () => undefined },
  { name: "async handler", handler: async () => undefined },
  { name: "keyed", handler: async () => undefined, key: "k" },
  { name: "sync throw, in-process retry then success", handler: failingOnce(() => { throw new TransientError("once"); }) },
  { name: "rejection, broker retry", handler: () => Promise.reject(new TransientError("x")), brokerRetry: true },
  { name: "permanent", handler: () => Promise.reject(new PermanentError("no")) },
  { name: "attempts exhausted", handler: () => Promise.reject(new Error("always")) },
  { name: "schema throws", handler: () => undefined, read: () => { throw new Error("bad"); } },
  { name: "async schema", handler: () => undefined, read: () => ({ pending: Promise.resolve({ ok: 1 }) }) },
  { name: "async schema fails", handler: () => undefined, read: () => ({ pending: Promise.reject(new Error("bad")) }) },
  { name: "ack refused", handler: () => undefined, refuseAck: true },
  { name: "keyed, ack refused", handler: () => undefined, key: "k", refuseAck: true },
  { name: "observer throws", handler: () => undefined, observeThrows: true },
];

/** Fails its first attempt only (through `fail`), then succeeds. */
function failingOnce(fail: () => void): Handler<unknown, unknown> {
  return (_data, ctx) => {
    if (ctx.attempt === 1) fail();
  };
}

interface Run {
  readonly outcome: string;
  readonly settled: string | undefined;
  /** What the consumer was told of an ack left committing, when it landed. */
  readonly acked: string[];
  readonly settles: string[];
  readonly recorded: string[];
  readonly counts: Record<string, number>;
  readonly data: unknown;
  readonly attempts: number[];
}

async function run(c: Case, fused: boolean): Promise<Run> {
  const recorded: string[] = [];
  const metrics = { record: (_type: string, kind: string) => void recorded.push(kind), release: () => undefined, hold: () => undefined, failedAttempt: () => undefined } as unknown as ConsumerMetrics;
  const counts = { handled: 0, retried: 0, deadLettered: 0, duplicates: 0, settleFailures: 0 };
  const breaker = new CircuitBreaker({ threshold: 0, cooldownMs: 1, maxCooldownMs: 1 }, () => 0.5, () => undefined);
  const closing = new AbortController();
  const transport = { bind: () => Promise.resolve(), publish: () => Promise.resolve({}), capabilities: {} } as unknown as Transport;
  const settler = new Settler({ transport, group: "g", log: noopLogger, counts, breaker, deadLetters: undefined, stop: () => undefined, leaseLost: () => undefined, closing: closing.signal, random: () => 0 });
  const registry = { readNow: c.read ?? (() => ({ value: { ok: 1 } })) } as unknown as ContractRegistry;
  const attempts: number[] = [];
  const handler: Handler<unknown, unknown> = (data, ctx) => {
    attempts.push(ctx.attempt);
    return c.handler(data, ctx);
  };
  const contextDeps = { group: "g", producer: {} as Producer, log: noopLogger, signal: closing.signal };
  const observe = (outcome: Outcome): Outcome => {
    if (c.observeThrows === true) throw new Error("observer bug");
    return outcome;
  };
  const retry: RetryStageOptions = { retry: { maxAttempts: 3, delaysMs: [1], baseMs: 1, maxMs: 1 }, random: () => 0.5, brokerRetry: c.brokerRetry ?? false, closing: closing.signal, counts, observe };
  const attemptStage = handlerStage(handler, contextDeps);
  const parts = { telemetry: deliveryTelemetry("memory", "g", metrics), settler, registry, afterAttempt: afterAttempt(retry), attemptStage, attempt: attemptRunner(handler, contextDeps) };
  const acked: string[] = [];
  // Both tell the consumer's callbacks (the stages composed through stagePipeline): a promise of the outcome here.
  const pipeline: Stage = (j) =>
    new Promise((resolve, reject) => {
      const ends: PipelineEnds = { ended: (_j, outcome) => resolve(outcome), acked: (_j, settled) => void acked.push(settled.kind), broke: (_j, error) => reject(error) };
      const composed = composeStages([telemetryStage("memory", "g", metrics), settleStage(settler), poisonStage(registry), retryStage(retry)], attemptStage);
      (fused ? fusedPipeline(parts, ends) : stagePipeline(composed, ends))(j);
    });
  const delivery = new FakeDelivery();
  if (c.refuseAck === true) delivery.ack = () => Promise.reject(new Error("refused"));
  const j = job({ delivery, ...(c.key === undefined ? {} : { key: c.key }) });
  const outcome = await pipeline(j);
  const settled = await j.settling;
  const givenBack = settled ?? outcome;
  if (givenBack.kind === "settle-failed") await givenBack.givenBack;
  await new Promise((r) => setImmediate(r));
  return { outcome: outcome.kind, settled: settled?.kind, acked, settles: delivery.settles, recorded, counts: { ...counts }, data: j.data, attempts };
}

describe("fused pipeline", () => {
  for (const c of CASES) {
    it(`fused pipeline - ${c.name}: the same outcome, settles, counts and telemetry as the stages composed`, async () => {
      const composed = await run(c, false);
      const fused = await run(c, true);
      expect(fused).toEqual(composed);
      // Each case records exactly one outcome: the telemetry's end ran once, after the settle.
      expect(fused.recorded).toHaveLength(1);
    });
  }

  it("fused pipeline - what a step throws (a bug) goes to broke, once, and ended is not called", async () => {
    const breaker = new CircuitBreaker({ threshold: 0, cooldownMs: 1, maxCooldownMs: 1 }, () => 0.5, () => undefined);
    const counts = { handled: 0, retried: 0, deadLettered: 0, duplicates: 0, settleFailures: 0 };
    const settler = new Settler({ transport: {} as Transport, group: "g", log: noopLogger, counts, breaker, deadLetters: undefined, stop: () => undefined, leaseLost: () => undefined });
    const bug = new Error("telemetry bug");
    const telemetry = { ...deliveryTelemetry("memory", "g"), end: (): Outcome => { throw bug; } };
    const signal = new AbortController().signal;
    const retry: RetryStageOptions = { retry: { maxAttempts: 1, delaysMs: [1], baseMs: 1, maxMs: 1 }, random: () => 0.5, brokerRetry: true, closing: signal, counts };
    const contextDeps = { group: "g", producer: {} as Producer, log: noopLogger, signal };
    const handler: Handler<unknown, unknown> = () => undefined;
    const calls: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const pipeline = fusedPipeline(
      { telemetry, settler, registry: { readNow: () => ({ value: 1 }) } as unknown as ContractRegistry, afterAttempt: afterAttempt(retry), attemptStage: handlerStage(handler, contextDeps), attempt: attemptRunner(handler, contextDeps) },
      { ended: () => void calls.push("ended"), acked: () => void calls.push("acked"), broke: (_j, error) => (calls.push(error === bug ? "broke" : "broke?"), done()) },
    );
    const delivery = new FakeDelivery();
    // Keyed: settled before the end (no ack left committing), and the end throws.
    pipeline(job({ delivery, key: "k" }));
    await finished;
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual(["broke"]);
    expect(delivery.settles).toEqual(["ack"]);
  });

  it("fused pipeline - a handled unkeyed delivery leaves its ack committing and records it when it lands", async () => {
    const r = await run({ name: "ok", handler: () => undefined }, true);
    expect(r).toMatchObject({ outcome: "handled", settled: "handled", acked: ["handled"], settles: ["ack"], recorded: ["handled"] });
    const refused = await run({ name: "refused", handler: () => undefined, refuseAck: true }, true);
    expect(refused).toMatchObject({ outcome: "handled", settled: "settle-failed", acked: ["settle-failed"], settles: ["release"], recorded: ["settle-failed"] });
  });
});
