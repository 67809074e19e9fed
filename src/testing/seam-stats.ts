/**
 * QueueInspection: `stats()` agrees with what the test did to a group.
 * Brokers report some counts a little late (RabbitMQ reads in-flight counts
 * from status reports), so each expectation is awaited, never raced.
 */
import { expect, it } from "vitest";
import { canInspectQueues } from "../transport/abilities.js";
import type { QueueStats, Transport } from "../transport/transport.js";
import type { SeamContext } from "./seam-context.js";
import { message, receiveExactly, waitUntil } from "./seam-helpers.js";

const SETTLE_MS = 15_000;

async function statsOf(t: Transport, group: string): Promise<QueueStats | undefined> {
  if (!canInspectQueues(t)) throw new Error(`${t.name}: declared queueInspection but has no stats()`);
  return (await t.stats()).find((q) => q.group === group);
}

/** Wait until the group's stats match `expected`; then fail with the last stats seen if they never did. */
async function expectStats(t: Transport, group: string, expected: Partial<QueueStats>, what: string): Promise<QueueStats> {
  let last: QueueStats | undefined;
  await waitUntil(async () => {
    last = await statsOf(t, group);
    return last !== undefined && Object.entries(expected).every(([name, value]) => JSON.stringify(last![name as keyof QueueStats]) === JSON.stringify(value));
    // Not reaching it in time is reported by the expect below, with the last stats seen (clearer than a timeout).
  }, SETTLE_MS, what).catch(() => undefined);
  expect(last, what).toMatchObject(expected);
  return last!;
}

export function statsTests(s: SeamContext): void {
  const f = s.features;
  const consumers = (n: number): number | undefined => (f.countsConsumers ? n : undefined);
  const deadLetters = (n: number): number | undefined => (f.nativeDeadLetters ? n : undefined);

  it("seam - stats: depth, ready, in flight, delayed, oldest age, consumers and dead letters follow what was done to the group", async () => {
    const t = await s.open();
    const [group, topic] = [s.name("g"), s.name("stats")];
    await t.bind(group, [topic]);
    const publishedAt = Date.now();
    await t.publish(["s1", "s2", "s3"].map((id) => message(topic, id)));
    const delayed = f.nativeDelay ? 1 : 0;
    if (f.nativeDelay) await t.publish([message(topic, "s4", undefined, { delayMs: 120_000 })]);

    const before = await expectStats(t, group, {
      group, topics: [topic], depth: 3 + delayed, ready: 3, inFlight: 0, delayed, consumers: consumers(0), deadLetters: deadLetters(0), temporary: false,
    }, "three ready");
    expect(before.oldestAgeMs).toBeGreaterThanOrEqual(0);
    // An upper bound may be all a broker can tell (RabbitMQ), but never older than the test.
    expect(before.oldestAgeMs).toBeLessThanOrEqual(Date.now() - publishedAt + 2_000);

    const sub = await s.subscribe(t, group, [topic], { prefetch: 2, ordered: false });
    const held = await receiveExactly(sub, 2);
    await expectStats(t, group, { depth: 3 + delayed, ready: 1, inFlight: 2, delayed, consumers: consumers(1) }, "two in flight");

    if (f.nativeDeadLetters) await held[0]!.deadLetter({ ...held[0]!.wire.headers, "missive-error-code": "MISSIVE_PERMANENT" });
    else await held[0]!.ack();
    await held[1]!.ack();
    const [third] = await receiveExactly(sub, 1);
    await expectStats(t, group, { depth: 1 + delayed, ready: 0, inFlight: 1, deadLetters: deadLetters(1) }, "the third in flight");
    await third!.ack();
    await expectStats(t, group, { depth: delayed, ready: 0, inFlight: 0, delayed }, "nothing in flight");
    await sub.close();
    const after = await expectStats(t, group, { depth: delayed, consumers: consumers(0), deadLetters: deadLetters(1) }, "no consumers after close");
    if (!f.nativeDelay) expect(after.oldestAgeMs).toBeUndefined();
  });
}
