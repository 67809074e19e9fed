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

export interface NatsNames {
  topicStream(topic: string): string;
  topicSubject(topic: string): string;
  groupStream(group: string): string;
  groupSubject(group: string): string;
  consumer(group: string): string;
  deadLetterStream(): string;
  /** `*` for every group's. */
  deadLetterSubject(group: string): string;
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
    statusStream: () => `${streamPrefix}_STATUS`,
    statusSubject: () => `${subjectPrefix}.status`,
    topicOfStream: (stream) => (stream.startsWith(t) ? decodeToken(stream.slice(t.length)) : undefined),
    groupOfStream: (stream) => (stream.startsWith(g) ? decodeToken(stream.slice(g.length)) : undefined),
  };
}
