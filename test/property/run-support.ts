/** Small pieces the schedule runner needs: fake-time waits, a capturing logger, reading dead letters back. */
import { deadLetterTopic, DiagnosticHeaders, type Logger } from "../../src/index.js";
import type { MemoryBroker } from "../../src/transports/memory/index.js";

const POLL_MAX_MS = 50;
const LOG_LIMIT = 200;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until a condition holds, re-checking when nudged (a handler started)
 * and on a timer that backs off to POLL_MAX_MS, so a long fake-time wait (a
 * breaker cool-down) costs few timers.
 */
export class Waiter {
  private wake: (() => void) | undefined;

  nudge(): void {
    this.wake?.();
  }

  async until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let interval = 1;
    while (!condition()) {
      if (Date.now() > deadline) return false;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, interval);
        this.wake = done;
      });
      interval = Math.min(interval * 2, POLL_MAX_MS);
    }
    return true;
  }
}

/** A logger that keeps the runtime's warnings and errors (the last LOG_LIMIT), stamped with fake time. */
export function captureLogger(log: string[]): Logger {
  const write = (level: string) => (obj: object, msg?: string): void => {
    if (log.length >= LOG_LIMIT) log.shift();
    const err = (obj as { err?: unknown }).err;
    const detail = err instanceof Error ? ` (${err.name}: ${err.message})` : "";
    log.push(`${Date.now() % 1_000_000} ${level} ${msg ?? ""}${detail}`);
  };
  return { debug: () => {}, info: () => {}, warn: write("warn"), error: write("error") };
}

/** The message index a Work body carries. */
const messageOf = (body: Uint8Array): number => (JSON.parse(Buffer.from(body).toString("utf8")) as { n: number }).n;

export interface DeadLetterSeen {
  readonly message: number;
  /** When it was dead-lettered, Unix ms (fake time). */
  readonly at: number;
}

/** Everything dead-lettered for `group`: the broker's store, and the runtime's fallback topic when the broker has none. */
export async function readDeadLetters(broker: MemoryBroker, group: string): Promise<DeadLetterSeen[]> {
  // Fallback dead letters are publishes, so the latency fault may still hide some: wait it out.
  await sleep(broker.faults.maxDelayMs + 1);
  const inspector = broker.transport();
  await inspector.connect();
  const stored = ((await inspector.deadLetters?.list({ group })) ?? []).map((l) => ({ message: messageOf(l.wire.body), at: l.deadLetteredAt }));
  const fallback: Array<{ message: number; at: number }> = [];
  const topic = deadLetterTopic(group);
  if (broker.stats().queues[topic] !== undefined) {
    const subscription = await inspector.subscribe({ group: topic, topics: [topic], prefetch: 100_000, ordered: false, leaseMs: 60_000 });
    for (const d of await subscription.receive(100_000, 0)) {
      fallback.push({ message: messageOf(d.wire.body), at: Date.parse(d.wire.headers[DiagnosticHeaders.lastFailure] ?? "") });
    }
  }
  await inspector.close();
  return [...stored, ...fallback];
}
