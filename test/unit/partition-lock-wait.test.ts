/**
 * partition-lock-wait.ts on a virtual clock: an ordered member short of its
 * share retries refused partition locks with a capped full-jitter backoff,
 * says nothing above debug until it has waited WARN_AFTER_MS, then warns and
 * reports failing once (not on every retry), and reports resumed when it
 * holds its share again. The RabbitMQ test of the same, end to end, is
 * test/transports/rabbitmq-partition-ownership.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { TransportEvent } from "../../src/transport/transport.js";
import { PartitionLockWait, WARN_AFTER_MS } from "../../src/transports/rabbitmq/partition-lock-wait.js";
import { recordingLogger } from "../support/recording-logger.js";

function world(random: () => number) {
  let now = 1_000_000;
  const log = recordingLogger();
  const events: TransportEvent[] = [];
  const wait = new PartitionLockWait({ log, report: (e) => void events.push(e) }, "billing", { random, now: () => now });
  return { wait, log, events, advance: (ms: number) => void (now += ms) };
}

describe("partition lock wait", () => {
  it("partition lock wait - retries are capped at 2 s with full jitter, and only due once the backoff is over", () => {
    const w = world(() => 0.999);
    expect(w.wait.due()).toBe(true);
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const d = w.wait.passed([0], true)!;
      delays.push(d);
      expect(w.wait.due()).toBe(d === 0);
      w.advance(d);
      expect(w.wait.due()).toBe(true);
    }
    expect(delays.slice(0, 5)).toEqual([99, 199, 399, 799, 1598]);
    expect(Math.max(...delays)).toBeLessThanOrEqual(2000);
    expect(delays.at(-1)).toBe(1998);
  });

  it("partition lock wait - silent below the threshold, then one warn and one failing event with the partitions; resumed when the share is held", () => {
    const w = world(() => 0.5);
    w.wait.passed([1, 0], true);
    w.advance(WARN_AFTER_MS - 1);
    w.wait.passed([1, 0], true);
    expect(w.log.at("warn")).toEqual([]);
    expect(w.events).toEqual([]);
    w.advance(1);
    w.wait.passed([1, 0], true);
    w.advance(500);
    w.wait.passed([1, 0], true);
    expect(w.log.at("warn", "taking partitions")).toHaveLength(1);
    expect(w.events).toEqual([{ kind: "subscription", group: "billing", state: "failing", reason: expect.stringMatching(/partitions 0, 1 of ordered group "billing" locked by another connection \(RESOURCE_LOCKED\)/) }]);
    expect(w.wait.waitingSince).toBeDefined();

    // Short, but this pass tried nothing (the backoff): still waiting, no new line.
    expect(w.wait.passed([], true)).toBeGreaterThanOrEqual(0);
    expect(w.wait.waitingSince).toBeDefined();
    w.wait.passed([], false);
    expect(w.wait.waitingSince).toBeUndefined();
    expect(w.events.at(-1)).toEqual({ kind: "subscription", group: "billing", state: "resumed" });
    expect(w.log.at("info", "works again")).toHaveLength(1);
  });

  it("partition lock wait - a member not short of its share is not waiting, whatever was refused", () => {
    const w = world(() => 0.5);
    expect(w.wait.passed([3], false)).toBeUndefined();
    expect(w.wait.passed([], true)).toBeUndefined();
    expect(w.wait.waitingSince).toBeUndefined();
    expect(w.events).toEqual([]);
  });
});
