/**
 * Key names of missive's streams and bookkeeping on a Redis server, all
 * under one prefix. Topic and group names go into keys as they are (Redis
 * keys are binary-safe), after a one-letter kind, so no topic key can be
 * mistaken for a group key.
 */
export interface RedisNames {
  readonly prefix: string;
  /** The stream of a topic; every group bound to it is a consumer group on it. */
  topicStream(topic: string): string;
  /** The stream of messages addressed to one group (replies, retry copies, releases, redrives). */
  groupStream(group: string): string;
  /** The set of every bound group. */
  groups(): string;
  /** The set of topics one group is bound to. */
  topicsOf(group: string): string;
  /** The set of temporary groups (removed when their subscription closes). */
  temporary(): string;
  /** The dead-letter stream. */
  deadLetters(): string;
  /** The capped stream of service reports (service-reports.ts). */
  status(): string;
  /**
   * Prefix of an ordered group's per-key lists (the key follows): the
   * group's unsettled entries of each key, in the order the group read them
   * (key-heads.ts). The group's length first, so no group's prefix is
   * another's.
   */
  keyLists(group: string): string;
  /** Hash of the handler starts of each unsettled entry of a group (attempts, ADR 011). */
  starts(group: string): string;
}

/** How an entry is named in a group's key lists and starts hash: its id, then its stream (ids have no space). */
export function entryMember(stream: string, id: string): string {
  return `${id} ${stream}`;
}

export function redisNames(prefix: string): RedisNames {
  return {
    prefix,
    topicStream: (topic) => `${prefix}t:${topic}`,
    groupStream: (group) => `${prefix}g:${group}`,
    groups: () => `${prefix}groups`,
    topicsOf: (group) => `${prefix}topics:${group}`,
    temporary: () => `${prefix}temporary`,
    deadLetters: () => `${prefix}dlq`,
    keyLists: (group) => `${prefix}k:${group.length}:${group}:`,
    starts: (group) => `${prefix}n:${group}`,
    status: () => `${prefix}status`,
  };
}

/** Stream entry ids `<ms>-<seq>`: what a caller-supplied id must look like before it reaches a command. */
export const STREAM_ID = /^[0-9]{1,20}-[0-9]{1,20}$/;

/** The unix ms part of a stream entry id (the server's clock when it was added). */
export function idTime(id: string): number {
  return Number(id.slice(0, id.indexOf("-")));
}
