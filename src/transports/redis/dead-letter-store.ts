/**
 * Dead letters in one stream, `<prefix>dlq` (ADR 011). An entry holds the
 * group, topic, key and message id as fields of their own, the headers as
 * one JSON field (a dead letter may carry thousands of headers) and the
 * body. The entry id is the stream id, so entries list in store order and
 * `deadLetteredAt` is the server's clock when it was added. Reading walks
 * the stream in pages: right for an operator, slow for millions. Replay
 * adds to the group's stream first, then deletes the entry: a crash between
 * the two leaves both, never neither.
 */
import type { Redis } from "ioredis";
import type { WireMessage } from "../../envelope/wire.js";
import { emptyHeaders } from "../../envelope/wire.js";
import { checkQuery, limitOf, matchesQuery, summarise } from "../../transport/dead-letter-query.js";
import { withoutDiagnostics } from "../../transport/diagnostic-prefix.js";
import type { DeadLetter, DeadLetterFilter, DeadLetterQuery, DeadLetterStore, DeadLetterSummary } from "../../transport/transport.js";
import { BODY_FIELD, TOPIC_FIELD, toFields } from "./fields.js";
import { idTime, STREAM_ID, type RedisNames } from "./names.js";

const PAGE = 500;

type RawEntry = [Buffer, Buffer[]];

export class RedisDeadLetterStore implements DeadLetterStore {
  constructor(
    private readonly redis: () => Promise<Redis>,
    private readonly names: RedisNames,
  ) {}

  /** Store a dead letter (Delivery.deadLetter); resolves with its entry id once the server has it. */
  async add(group: string, topic: string, key: string | undefined, headers: Readonly<Record<string, string>>, body: Uint8Array): Promise<string> {
    const redis = await this.redis();
    const fields: Array<string | Buffer> = [":group", group, TOPIC_FIELD, topic, ":id", headers["ce-id"] ?? ""];
    if (key !== undefined) fields.push(":key", key);
    fields.push(":headers", JSON.stringify({ ...headers }), BODY_FIELD, Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    return (await redis.xadd(this.names.deadLetters(), "*", ...fields))!;
  }

  /** Remove one entry; true when it was there. */
  async remove(entryId: string): Promise<boolean> {
    if (!STREAM_ID.test(entryId)) return false;
    return (await (await this.redis()).xdel(this.names.deadLetters(), entryId)) === 1;
  }

  async list(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    checkQuery(filter);
    const limit = limitOf(filter);
    const out: DeadLetter[] = [];
    if (limit === 0) return out;
    if (filter?.after !== undefined && !STREAM_ID.test(filter.after)) return out;
    for await (const entry of this.walk(filter?.after)) {
      if (matchesQuery(entry, filter) && out.push(entry) >= limit) break;
    }
    return out;
  }

  async get(entryId: string): Promise<DeadLetter | undefined> {
    if (!STREAM_ID.test(entryId)) return undefined;
    const [raw] = (await (await this.redis()).xrangeBuffer(this.names.deadLetters(), entryId, entryId)) as RawEntry[];
    return raw === undefined ? undefined : toEntry(raw);
  }

  async count(query?: DeadLetterQuery): Promise<number> {
    checkQuery(query);
    let n = 0;
    for await (const entry of this.walk(undefined)) if (matchesQuery(entry, query)) n++;
    return n;
  }

  async summary(query?: DeadLetterQuery): Promise<DeadLetterSummary[]> {
    checkQuery(query);
    const all: DeadLetter[] = [];
    for await (const entry of this.walk(undefined)) if (matchesQuery(entry, query)) all.push(entry);
    return summarise(all);
  }

  async replay(entryIds: readonly string[]): Promise<number> {
    let moved = 0;
    for (const id of new Set(entryIds)) {
      if (await this.requeue(id, (e) => ({ headers: withoutDiagnostics(e.wire.headers), body: e.wire.body }))) moved++;
    }
    return moved;
  }

  replayEdited(entryId: string, wire: WireMessage): Promise<boolean> {
    return this.requeue(entryId, () => wire);
  }

  async discard(entryIds: readonly string[]): Promise<number> {
    let removed = 0;
    for (const id of new Set(entryIds)) if (await this.remove(id)) removed++;
    return removed;
  }

  /** Entries of one group (QueueStats.deadLetters). */
  countOf(group: string): Promise<number> {
    return this.count({ group });
  }

  private async requeue(entryId: string, wireOf: (e: DeadLetter) => WireMessage): Promise<boolean> {
    const entry = await this.get(entryId);
    if (entry === undefined) return false;
    const redis = await this.redis();
    // NOMKSTREAM: a group that is gone has no stream, and its entry stays.
    const added = await redis.xadd(this.names.groupStream(entry.group), "NOMKSTREAM", "*", ...toFields(wireOf(entry), { [TOPIC_FIELD]: entry.topic }));
    if (added === null) return false;
    await this.remove(entryId);
    return true;
  }

  private async *walk(after: string | undefined): AsyncGenerator<DeadLetter> {
    const redis = await this.redis();
    let start = after === undefined ? "-" : `(${after}`;
    for (;;) {
      const page = (await redis.xrangeBuffer(this.names.deadLetters(), start, "+", "COUNT", PAGE)) as RawEntry[];
      for (const raw of page) yield toEntry(raw);
      if (page.length < PAGE) return;
      start = `(${page[page.length - 1]![0].toString()}`;
    }
  }
}

function toEntry([rawId, fields]: RawEntry): DeadLetter {
  const entryId = rawId.toString();
  const meta = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) meta.set(fields[i]!.toString(), fields[i + 1]!);
  const text = (name: string): string | undefined => meta.get(name)?.toString("utf8");
  const headers = emptyHeaders();
  const parsed = JSON.parse(text(":headers") ?? "{}") as Record<string, unknown>;
  for (const name of Object.keys(parsed)) if (typeof parsed[name] === "string") headers[name] = parsed[name];
  const body = meta.get(BODY_FIELD) ?? Buffer.alloc(0);
  return {
    entryId,
    messageId: text(":id") ?? headers["ce-id"] ?? "",
    group: text(":group") ?? "",
    topic: text(TOPIC_FIELD) ?? headers["ce-type"] ?? "",
    key: text(":key"),
    wire: { headers, body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) },
    deadLetteredAt: idTime(entryId),
  };
}
