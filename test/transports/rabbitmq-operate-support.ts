/**
 * Helpers for the RabbitMQ operate tests (dead letters, stats): unique names,
 * dead letters made the way a consumer makes them, and cleanup of a group's
 * queue, dead-letter queue and scan lock.
 */
import amqp from "amqplib";
import type { Subscription } from "../../src/index.js";
import type { RabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { deadLetterLockOf, deadLetterQueueOf } from "../../src/transports/rabbitmq/names.js";
import { message, receiveAtLeast, subOptions, wire } from "./rabbitmq-support.js";

export { uniqueName } from "../support/wait.js";

export interface DeadSpec {
  readonly id: string;
  readonly code?: string;
  readonly className?: string;
}

/** Publish each message to `topic` for `group` and dead-letter it with diagnostics, in order. */
export async function deadLetters(t: RabbitmqTransport, group: string, topic: string, specs: readonly DeadSpec[]): Promise<void> {
  const sub: Subscription = await t.subscribe(subOptions(group, [topic], { prefetch: 100 }));
  try {
    // Straight to the group's queue: other groups bound to the topic get nothing.
    const results = await t.publish(specs.map((s) => message(topic, s.id, `k-${s.id}`, { group, wire: wire(s.id, { "ce-id": s.id, "ce-type": topic, "ce-key": `k-${s.id}` }) })));
    if (results.some((r) => r !== undefined)) throw new Error(`publish failed: ${String(results.find((r) => r))}`);
    const got = await receiveAtLeast(sub, specs.length, 10_000);
    if (got.length !== specs.length) throw new Error(`received ${got.length} of ${specs.length}`);
    for (const d of got) {
      const spec = specs.find((s) => s.id === d.wire.headers["ce-id"])!;
      await d.deadLetter({
        ...d.wire.headers,
        "missive-error-code": spec.code ?? "MISSIVE_PERMANENT",
        "missive-error-class": spec.className ?? "PermanentError",
        "missive-attempts": "1",
      });
    }
  } finally {
    await sub.close();
  }
}

/** Delete a group's queue, its dead-letter queue and its scan lock, and the topic exchanges (each on a fresh channel: a failure closes it). */
export async function deleteGroup(url: string, group: string, topics: readonly string[] = []): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    for (const queue of [group, deadLetterQueueOf(group), deadLetterLockOf(group)]) {
      const ch = await connection.createChannel();
      ch.on("error", () => undefined);
      await ch.deleteQueue(queue).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    for (const topic of topics) {
      const ch = await connection.createChannel();
      ch.on("error", () => undefined);
      await ch.deleteExchange(topic).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}
