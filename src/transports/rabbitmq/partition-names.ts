/**
 * How an ordered (partitioned) group is laid out on RabbitMQ
 * (docs/adr/007-key-order-across-processes.md):
 *
 * - every topic publish carries the low 8 bits of its key's hash (keyHash) as
 *   its routing key, one word per bit (`1.0.1.1.0.0.1.0`); an unkeyed message
 *   gets spread bits. Fanout exchanges ignore it, so unordered groups are
 *   untouched;
 * - an ordered group's topics are bound (exchange to exchange) to its
 *   partition exchange `missive.partition.<group>`, a topic exchange that
 *   routes the last log2(N) bits to `<group>.partition.<i>`;
 * - what matches no partition (a delayed publish, whose routing key is the
 *   delay's; a plain client's) goes through the alternate exchange
 *   `missive.partition.<group>.other` to the group's own queue, which every
 *   ordered consumer also drains (retries of unkeyed messages, replays);
 * - `<group>.partition.<i>.lock` (exclusive, transient) is held by the one
 *   connection that owns partition i; `<group>.partition.members` counts the
 *   group's ordered subscriptions (its consumers), so each knows its share.
 */
import { ConfigurationError } from "../../errors.js";

/** Bits of the key hash every publish carries: partitions can be at most 2^8. */
export const PARTITION_BITS = 8;
export const MAX_PARTITIONS = 2 ** PARTITION_BITS;

const PARTITION_EXCHANGE_PREFIX = "missive.partition.";

export function partitionExchangeOf(group: string): string {
  return PARTITION_EXCHANGE_PREFIX + group;
}

/** The alternate exchange of a group's partition exchange: what no partition takes goes to the group's own queue. */
export function unpartitionedExchangeOf(group: string): string {
  return PARTITION_EXCHANGE_PREFIX + group + ".other";
}

export function partitionQueueOf(group: string, index: number): string {
  return `${group}.partition.${index}`;
}

export function partitionLockOf(group: string, index: number): string {
  return `${group}.partition.${index}.lock`;
}

export function membersQueueOf(group: string): string {
  return `${group}.partition.members`;
}

/** True for a group name that would collide with the queues of a partitioned group. */
export function isPartitionQueueName(name: string): boolean {
  return /\.partition\.(\d+|\d+\.lock|members)$/.test(name);
}

/** Topics may not take the partition exchanges' names. */
export function isPartitionExchangeName(name: string): boolean {
  return name.startsWith(PARTITION_EXCHANGE_PREFIX);
}

/** The 2^PARTITION_BITS routing keys, built once: no string is built per publish. */
const ROUTING_KEYS: readonly string[] = Array.from({ length: MAX_PARTITIONS }, (_, v) => {
  const words: string[] = [];
  for (let bit = PARTITION_BITS - 1; bit >= 0; bit--) words.push((v >> bit) & 1 ? "1" : "0");
  return words.join(".");
});

/** The routing key of a topic publish whose key hashes (or whose spread counter is) `value`. */
export function partitionRoutingKey(value: number): string {
  return ROUTING_KEYS[value & (MAX_PARTITIONS - 1)]!;
}

/** Binding of partition `index` of `partitions`: the routing key's last log2(partitions) words spell `index`. */
export function partitionBindingPattern(index: number, partitions: number): string {
  const bits = Math.log2(partitions);
  if (bits === 0) return "#";
  const words: string[] = [];
  for (let bit = bits - 1; bit >= 0; bit--) words.push((index >> bit) & 1 ? "1" : "0");
  return "#." + words.join(".");
}

/** Throws ConfigurationError unless `n` is a power of two between 1 and MAX_PARTITIONS. */
export function checkPartitions(n: unknown): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS || (n & (n - 1)) !== 0) {
    throw new ConfigurationError(`rabbitmq transport: \`partitions\` must be a power of two from 1 to ${MAX_PARTITIONS}, got ${JSON.stringify(n)}`);
  }
  return n;
}
