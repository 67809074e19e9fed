/**
 * How missive's topology is named on RabbitMQ (docs/transports/rabbitmq.md):
 *
 * - a message type (topic) is a durable fanout exchange of that name;
 * - a consumer group is a durable queue of that name, bound to its topics'
 *   exchanges, with its dead-letter queue `<group>.dlq` beside it;
 * - delays run through binary levels: level k holds a message 2^k × 100 ms
 *   (one TTL per queue, so a long delay never blocks a short one behind it),
 *   routed by a key that spells the delay's bits and the destination (the
 *   scheme NServiceBus uses). Level queues are per destination, declared when
 *   first needed, so a group's delayed messages can be counted.
 */
import { ConfigurationError } from "../../errors.js";
import { isPartitionExchangeName, isPartitionQueueName } from "./partition-names.js";

/** RabbitMQ's limit on queue and exchange names (bytes). */
const MAX_NAME_BYTES = 255;
/** Longest group or topic name missive accepts: leaves room for the suffixes it adds. */
export const MAX_USER_NAME_BYTES = 200;

export const DLQ_SUFFIX = ".dlq";
/** Exchange and stream names missive owns. */
export const CATALOG_STREAM = "missive.catalog";
export const DELAY_DELIVER_EXCHANGE = "missive.delay.deliver";
/** Granularity of delays: a delay is rounded up to a multiple of this. */
export const DELAY_UNIT_MS = 100;
/** Delay levels 0..LEVELS-1: the longest delay is (2^LEVELS - 1) units, about 38.8 days. */
export const DELAY_LEVELS = 25;
export const MAX_DELAY_MS = (2 ** DELAY_LEVELS - 1) * DELAY_UNIT_MS;
/** The reply address of RabbitMQ's direct reply-to; the broker appends a channel-specific suffix. */
export const DIRECT_REPLY_TO = "amq.rabbitmq.reply-to";

/** Throws ConfigurationError unless `name` can be a group (queue) name. */
export function checkGroupName(name: unknown): string {
  checkName("group", name);
  const s = name as string;
  if (s.endsWith(DLQ_LOCK_SUFFIX)) throw new ConfigurationError(`rabbitmq: a group name may not end with ${DLQ_LOCK_SUFFIX} (reserved for dead-letter scan locks)`);
  if (s.endsWith(DLQ_SUFFIX)) throw new ConfigurationError(`rabbitmq: a group name may not end with ${DLQ_SUFFIX} (reserved for dead-letter queues): ${JSON.stringify(s.slice(0, 80))}`);
  if (s.startsWith("amq.")) throw new ConfigurationError(`rabbitmq: a group name may not start with "amq." (reserved by RabbitMQ)`);
  if (isPartitionQueueName(s)) throw new ConfigurationError(`rabbitmq: a group name may not end with .partition.<n>, .partition.<n>.lock or .partition.members (reserved for partitions of ordered groups)`);
  if (s.startsWith("missive.delay.") || s === CATALOG_STREAM || s === RELEASE_STREAM || s === STATUS_STREAM) throw new ConfigurationError(`rabbitmq: ${JSON.stringify(s.slice(0, 80))} is reserved by missive`);
  return s;
}

/** Throws ConfigurationError unless `name` can be a topic (exchange) name. */
export function checkTopicName(name: unknown): string {
  checkName("topic", name);
  const s = name as string;
  if (s.startsWith("amq.")) throw new ConfigurationError(`rabbitmq: a topic may not start with "amq." (reserved by RabbitMQ)`);
  if (s.startsWith("missive.delay.") || isPartitionExchangeName(s)) throw new ConfigurationError(`rabbitmq: ${JSON.stringify(s.slice(0, 80))} is reserved by missive`);
  return s;
}

function checkName(what: string, name: unknown): void {
  if (typeof name !== "string" || name.length === 0) throw new ConfigurationError(`rabbitmq: a ${what} name must be a non-empty string`);
  if (Buffer.byteLength(name) > MAX_USER_NAME_BYTES) throw new ConfigurationError(`rabbitmq: a ${what} name is at most ${MAX_USER_NAME_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new ConfigurationError(`rabbitmq: a ${what} name may not contain control characters`);
}

export function deadLetterQueueOf(group: string): string {
  return group + DLQ_SUFFIX;
}

const DLQ_LOCK_SUFFIX = ".dlq.lock";
/** Stream of subscriptions' unsettled counts, read by stats() (status-reporter.ts). */
export const STATUS_STREAM = "missive.status";

/** The exclusive queue that serialises scans of a group's dead-letter queue across connections (dlq-lock.ts). */
export function deadLetterLockOf(group: string): string {
  return group + DLQ_LOCK_SUFFIX;
}

/** Where a delayed message goes when its delay is over: one group's queue, or every group of a topic. */
export type DelayDestination = { readonly kind: "group"; readonly name: string } | { readonly kind: "topic"; readonly name: string };

/** The destination as one topic-routing word: kind, then the name with the characters a routing key gives meaning to escaped. */
export function destinationWord(d: DelayDestination): string {
  const escaped = d.name.replace(/[%.*#]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0"));
  return (d.kind === "group" ? "g:" : "t:") + escaped;
}

export function delayLevelExchange(level: number): string {
  return `missive.delay.L${level}`;
}

export function delayLevelQueue(level: number, destination: DelayDestination): string {
  const name = `missive.delay.L${level}.${destinationWord(destination)}`;
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw new ConfigurationError("rabbitmq: the name is too long for a delay queue");
  return name;
}

/** Delay in units of DELAY_UNIT_MS, rounded up. Throws ConfigurationError past MAX_DELAY_MS. */
export function delayUnits(delayMs: number): number {
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new ConfigurationError(`rabbitmq: a delay must be a finite number of ms ≥ 0, got ${delayMs}`);
  if (delayMs > MAX_DELAY_MS) throw new ConfigurationError(`rabbitmq: the longest delay is ${MAX_DELAY_MS} ms (about 38 days), got ${delayMs}`);
  return Math.ceil(delayMs / DELAY_UNIT_MS);
}

/** Levels whose queues a delay of `units` passes through (its set bits), highest first. */
export function levelsOf(units: number): number[] {
  const levels: number[] = [];
  for (let k = DELAY_LEVELS - 1; k >= 0; k--) if (Math.floor(units / 2 ** k) % 2 === 1) levels.push(k);
  return levels;
}

/** Routing key of a delayed message: its bits, highest level first, then the destination word. */
export function delayRoutingKey(units: number, destination: DelayDestination): string {
  let key = "";
  for (let k = DELAY_LEVELS - 1; k >= 0; k--) key += (Math.floor(units / 2 ** k) % 2 === 1 ? "1" : "0") + ".";
  return key + destinationWord(destination);
}

/** Binding pattern from level k's exchange to one destination's level-k queue: bit k set, that destination. */
export function levelQueuePattern(level: number, destination: DelayDestination): string {
  return "*.".repeat(DELAY_LEVELS - 1 - level) + "1." + "*.".repeat(level) + destinationWord(destination);
}

/** Binding pattern from level k's exchange onwards (to level k-1, or to delivery): bit k clear. */
export function levelSkipPattern(level: number): string {
  return "*.".repeat(DELAY_LEVELS - 1 - level) + "0.#";
}

/** Exchange a level-k queue dead-letters into when its TTL runs out, and where level k's clear bit routes. */
export function nextExchangeAfter(level: number): string {
  return level === 0 ? DELAY_DELIVER_EXCHANGE : delayLevelExchange(level - 1);
}

/** Binding pattern from the delivery exchange to a destination. */
export function deliverPattern(destination: DelayDestination): string {
  return "#." + destinationWord(destination);
}

/** Stream of releases (deliveries given back unhandled), read by consumers to keep attempt counts true. */
export const RELEASE_STREAM = "missive.releases";
