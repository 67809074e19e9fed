/**
 * Settling in one place (runtime/settle.ts): whatever the outcome, the
 * delivery ends in a broker action or a logged error, never held by the
 * transport while the consumer counts it as done.
 */
import { describe, expect, it } from "vitest";
import { ConnectionError, LeaseLostError, MissiveError } from "../../src/errors.js";
import type { Logger } from "../../src/observability/logger.js";
import { CircuitBreaker } from "../../src/runtime/circuit-breaker.js";
import { inspectable } from "../../src/runtime/inspectable-error.js";
import { HANDLED, failed, type Outcome } from "../../src/runtime/outcome.js";
import { handlerStage } from "../../src/runtime/run-handler.js";
import { Settler, settleStage } from "../../src/runtime/settle.js";
import type { Producer } from "../../src/runtime/producer.js";
import type { Transport } from "../../src/transport/transport.js";
import { FakeDelivery, job } from "../support/stage-jobs.js";

function settler(lines: string[] = [], lost: Array<string | undefined> = []) {
  const counts = { handled: 0, retried: 0, deadLettered: 0, duplicates: 0, settleFailures: 0 };
  const log = (msg: string): void => void lines.push(msg);
  const logger: Logger = { debug: () => undefined, info: () => undefined, warn: (_o, m) => log(`warn ${m}`), error: (_o, m) => log(`error ${m}`) };
  const breaker = new CircuitBreaker({ threshold: 0, cooldownMs: 1, maxCooldownMs: 1 }, () => 0.5, () => undefined);
  const s = new Settler({ transport: {} as Transport, group: "g", log: logger, counts, breaker, deadLetters: undefined, stop: () => undefined, leaseLost: (k) => void lost.push(k) });
  return { s, counts };
}

describe("settle", () => {
  it("settle - each outcome is one broker action", async () => {
    const cases: Array<[Outcome, string[]]> = [
      [HANDLED, ["ack"]],
      [{ kind: "handled", acked: true }, []],
      [{ kind: "retry", delayMs: 7, error: new Error("x") }, ["retry 7"]],
      [{ kind: "give-back" }, ["release"]],
      [{ kind: "stop", error: new Error("config") }, ["release"]],
      [{ kind: "leave", error: undefined }, []],
      [{ kind: "lease-lost", error: new LeaseLostError("l") }, []],
    ];
    for (const [outcome, settles] of cases) {
      const delivery = new FakeDelivery();
      expect(await settler().s.settle(job({ delivery }), outcome)).toBe(outcome);
      expect(delivery.settles).toEqual(settles);
    }
  });

  it("settle - a refused settle gives the delivery back, is counted and logged, and never rejects", async () => {
    const lines: string[] = [];
    const { s, counts } = settler(lines);
    const delivery = new FakeDelivery();
    let calls = 0;
    delivery.ack = () => (calls++, Promise.reject(new ConnectionError("broker gone")));
    const outcome = await s.settle(job({ delivery }), HANDLED);
    expect(outcome).toMatchObject({ kind: "settle-failed", intended: "handled" });
    // Given back after a backoff (a transport that hands it straight back would spin): held until then.
    expect(delivery.settles).toEqual([]);
    await (outcome.kind === "settle-failed" ? outcome.givenBack : undefined);
    expect(calls).toBe(1);
    expect(delivery.settles).toEqual(["release"]);
    expect(counts).toMatchObject({ handled: 0, settleFailures: 1 });
    expect(lines).toEqual(["error settling a delivery failed; it is given back for redelivery"]);
  });

  it("settle - a settle refused for a lost lease gives nothing back and marks the key stale", async () => {
    const lost: Array<string | undefined> = [];
    const delivery = new FakeDelivery();
    delivery.refuse = new LeaseLostError("gone");
    const outcome = await settler([], lost).s.settle(job({ delivery, key: "k" }), HANDLED);
    expect(outcome).toMatchObject({ kind: "settle-failed" });
    expect(lost).toEqual(["k"]);
  });

  it("settle - a stage that throws (a bug) still ends in a settle: the delivery is given back", async () => {
    const delivery = new FakeDelivery();
    const outcome = await settleStage(settler().s)(() => Promise.reject(new Error("bug")))(job({ delivery, key: "k" }));
    expect(outcome).toMatchObject({ kind: "failed" });
    expect(delivery.settles).toEqual(["release"]);
  });

  it("regression - a thrown value whose getters or Proxy traps throw becomes an unknown error that can be settled", async () => {
    const getter = Object.defineProperty(new Error("x"), "code", { get: () => { throw new Error("no code for you"); } });
    const proxy = new Proxy({}, { get: () => { throw new Error("trap"); }, has: () => { throw new Error("trap"); }, getPrototypeOf: () => { throw new Error("trap"); } });
    for (const hostile of [getter, proxy]) {
      const safe = inspectable(hostile);
      expect(safe).toBeInstanceOf(MissiveError);
      expect((safe as MissiveError).code).toBe("MISSIVE_UNKNOWN");
    }
    const plain = new Error("fine");
    expect(inspectable(plain)).toBe(plain);
    expect(inspectable("a string")).toBe("a string");
    const stage = handlerStage(() => { throw proxy; }, { group: "g", producer: {} as Producer, log: { debug() {}, info() {}, warn() {}, error() {} }, signal: new AbortController().signal });
    const outcome = await stage(job());
    expect(outcome).toEqual(failed(expect.any(MissiveError)));
  });
});
