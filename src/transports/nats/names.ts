/**
 * Names on the server. Topics and groups are free text (dots, unicode);
 * subject tokens and stream or consumer names are not (no `.`, `*`, `>`,
 * spaces; stream names become directory names). Each is encoded into one
 * token: letters, digits and `-` stay, every other UTF-8 byte becomes
 * `_XX`, so the mapping is injective and a name never spans two tokens.
 *
 * Layout (ADR 010): one stream per topic, `<PREFIX>_T_<topic>`, capturing
 * `<prefix>.t.<topic>`; one stream per group for messages addressed to it
 * alone (replies, redrives, the delay fill's copies), `<PREFIX>_G_<group>`,
 * capturing `<prefix>.g.<group>`. A group has one durable pull consumer per
 * stream it reads, named after the group. Dead letters go to `<PREFIX>_DLQ`,
 * capturing `<prefix>.dlq.<group>`. Service reports go to `<PREFIX>_STATUS`,
 * capturing `<prefix>.status`.
 *
 * Key order across processes (ADR 012): a keyed topic publish goes to
 * `<prefix>.t.<topic>.<b7>.<b6>…<b0>`, the low 8 bits of the key's hash
 * (runtime/key-hash.ts) one token each, so partition i of N (a power of two)
 * is one filter subject with wildcards for the high bits. An ordered group
 * has a consumer `<group>_P<i>` per partition (`_P` is no escape
 * encodeToken makes, so no group name collides) and its consumer named after
 * the group filters the bare subject (unkeyed messages, plain clients).
 * Partition owners are entries of `<PREFIX>_LOCKS` at
 * `<prefix>.lock.<group>.<i>`, the group's members at
 * `<prefix>.lock.<group>.m.<member>`.
 */
const KEEP = /^[A-Za-z0-9-]$/;

export function encodeToken(name: string): string {
  let out = "";
  for (const ch of name) {
    if (KEEP.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, "utf8")) out += `_${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export function decodeToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === "_") {
      bytes.push(Number.parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(token.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** The low `count` bits of `n`, most significant first, as `count` tokens `0`/`1` joined by dots. */
function hashBits(n: number, count: number): string {
  const out: string[] = [];
  for (let bit = count - 1; bit >= 0; bit--) out.push(String((n >>> bit) & 1));
  return out.join(".");
}

export interface NatsNames {
  topicStream(topic: string): string;
  topicSubject(topic: string): string;
  groupStream(group: string): string;
  groupSubject(group: string): string;
  consumer(group: string): string;
  deadLetterStream(): string;
  /** `*` for every group's. */
  deadLetterSubject(group: string): string;
  /** The subject of a keyed topic publish: the bare subject and the hash's low 8 bits, one token each. */
  partitionSubject(topic: string, hash: number): string;
  /** The filter of partition `index` of `partitions` on a topic stream. */
  partitionFilter(topic: string, index: number, partitions: number): string;
  partitionConsumer(group: string, index: number): string;
  lockStream(): string;
  lockSubject(group: string, index: number): string;
  /** A member's entry in the lock stream (partition-owner.ts counts them); `*` for every member of the group. */
  memberSubject(group: string, member: string): string;
  /** What the lock stream captures: every lock of this prefix. */
  lockSubjects(): string;
  /** The stream of service reports (service-reports.ts) and its one subject. */
  statusStream(): string;
  statusSubject(): string;
  /** The topic of a topic stream of this prefix, or undefined for any other stream. */
  topicOfStream(stream: string): string | undefined;
  /** The group of a group stream of this prefix, or undefined. */
  groupOfStream(stream: string): string | undefined;
}

export function natsNames(prefix: string): NatsNames {
  const streamPrefix = encodeToken(prefix).toUpperCase();
  const subjectPrefix = encodeToken(prefix);
  const t = `${streamPrefix}_T_`;
  const g = `${streamPrefix}_G_`;
  return {
    topicStream: (topic) => t + encodeToken(topic),
    topicSubject: (topic) => `${subjectPrefix}.t.${encodeToken(topic)}`,
    groupStream: (group) => g + encodeToken(group),
    groupSubject: (group) => `${subjectPrefix}.g.${encodeToken(group)}`,
    consumer: (group) => encodeToken(group),
    deadLetterStream: () => `${streamPrefix}_DLQ`,
    deadLetterSubject: (group) => `${subjectPrefix}.dlq.${group === "*" ? "*" : encodeToken(group)}`,
    partitionSubject: (topic, hash) => `${subjectPrefix}.t.${encodeToken(topic)}.${hashBits(hash, 8)}`,
    partitionFilter: (topic, index, partitions) => {
      const k = Math.log2(partitions);
      return `${subjectPrefix}.t.${encodeToken(topic)}.${[...Array<string>(8 - k).fill("*"), ...(k === 0 ? [] : [hashBits(index, k)])].join(".")}`;
    },
    partitionConsumer: (group, index) => `${encodeToken(group)}_P${index}`,
    lockStream: () => `${streamPrefix}_LOCKS`,
    lockSubject: (group, index) => `${subjectPrefix}.lock.${encodeToken(group)}.${index}`,
    memberSubject: (group, member) => `${subjectPrefix}.lock.${encodeToken(group)}.m.${member === "*" ? "*" : encodeToken(member)}`,
    lockSubjects: () => `${subjectPrefix}.lock.>`,
    statusStream: () => `${streamPrefix}_STATUS`,
    statusSubject: () => `${subjectPrefix}.status`,
    topicOfStream: (stream) => (stream.startsWith(t) ? decodeToken(stream.slice(t.length)) : undefined),
    groupOfStream: (stream) => (stream.startsWith(g) ? decodeToken(stream.slice(g.length)) : undefined),
  };
}
