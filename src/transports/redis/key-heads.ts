/**
 * Key order across the consumers of an ordered group (ADR 011). Each keyed
 * entry the group reads is appended, in the same script as the read, to its
 * key's list (scripts.ts READ_ORDERED); a subscription hands an entry out
 * only while it is its key's head (HEADS), and a settle removes it from the
 * list. A key's later entries, read by any consumer, wait while an earlier
 * one is held, retried in-process or pending under a consumer that died
 * (until its lease runs out and someone claims it: it keeps its place).
 */
import type { Redis } from "ioredis";
import { entryMember } from "./names.js";
import type { ScriptedRedis } from "./scripts.js";

export type RawEntry = [Buffer, Buffer[] | null];

export interface OrderedRead {
  /** New entries per stream, as XREADGROUP returns them. */
  readonly streams: Array<[Buffer, RawEntry[]]>;
  /** With nothing new: each stream's last id, to block on with XREAD. */
  readonly lastIds: readonly string[];
}

/** New entries of `streams` for `consumer`, each keyed one appended to its key list in the same step. */
export async function readOrdered(redis: ScriptedRedis, streams: readonly string[], group: string, consumer: string, count: number, listPrefix: string): Promise<OrderedRead> {
  const [reply, last] = await redis.missiveReadOrderedBuffer(streams.length, ...streams, group, consumer, count, listPrefix);
  return { streams: reply, lastIds: last.map((b) => b.toString()) };
}

/**
 * Block on the reader connection until some stream has an entry after the
 * ids `readOrdered` returned, or `blockMs` passed. It reads nothing for the
 * group: the next `readOrdered` takes the entries.
 */
export async function waitForEntries(reader: Redis, streams: readonly string[], lastIds: readonly string[], blockMs: number): Promise<void> {
  await reader.callBuffer("XREAD", "COUNT", 1, "BLOCK", Math.max(1, Math.floor(blockMs)), "STREAMS", ...streams, ...lastIds);
}

/** A buffered entry's place in its key's list. */
export interface HeadCandidate {
  readonly stream: string;
  readonly id: string;
  readonly key: string;
}

/** Per candidate: 1 its key's head, 0 wait, -1 no longer this consumer's. */
export async function keyHeads(redis: ScriptedRedis, group: string, consumer: string, listPrefix: string, candidates: readonly HeadCandidate[]): Promise<number[]> {
  if (candidates.length === 0) return [];
  return redis.missiveHeads(
    candidates.length,
    ...candidates.map((c) => listPrefix + c.key),
    group,
    consumer,
    ...candidates.map((c) => entryMember(c.stream, c.id)),
  );
}
