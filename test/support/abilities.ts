/** The optional abilities a test needs, asserted: a transport without one fails the test with a clear message. */
import { canInspectQueues, hasNativeDeadLetters } from "../../src/transport/abilities.js";
import type { DeadLetterStore, QueueStats, Transport } from "../../src/transport/transport.js";

export function deadLettersOf(transport: Transport): DeadLetterStore {
  if (!hasNativeDeadLetters(transport)) throw new Error(`the ${transport.name} transport has no native dead-letter store`);
  return transport.deadLetters;
}

export function statsOf(transport: Transport): Promise<QueueStats[]> {
  if (!canInspectQueues(transport)) throw new Error(`the ${transport.name} transport cannot inspect its queues`);
  return transport.stats();
}
