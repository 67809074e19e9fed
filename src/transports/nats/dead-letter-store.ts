/**
 * Dead letters in a stream of their own, `<PREFIX>_DLQ`, capturing
 * `<prefix>.dlq.<group>` (limits retention, file storage): a dead letter is
 * published there with its diagnostics headers and the topic, confirmed by
 * its PubAck, and only then is the original acked. The entry id is the
 * stream sequence, so entries list in store order. Reading walks the stream
 * with STREAM.MSG.GET `next_by_subj` (one round trip per entry: fine for an
 * operator's listing, not for millions of entries). Replay publishes to the
 * group's own stream, then deletes the entry: a crash between the two
 * leaves both, never neither.
 */
import { StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { MsgHdrsImpl, RequestError, type NatsConnection } from "@nats-io/nats-core";
import type { WireMessage } from "../../envelope/wire.js";
import { checkQuery, limitOf, matchesQuery, summarise } from "../../transport/dead-letter-query.js";
import { withoutDiagnostics } from "../../transport/diagnostic-prefix.js";
import type { DeadLetter, DeadLetterFilter, DeadLetterQuery, DeadLetterStore, DeadLetterSummary } from "../../transport/transport.js";
import { fromNatsHeaders, toNatsHeaders } from "./headers.js";
import { decodeToken, type NatsNames } from "./names.js";
import { isNotFound } from "./topology.js";

const TIMEOUT_MS = 5_000;

interface RawStored {
  readonly subject: string;
  readonly seq: number;
  readonly hdrs?: string;
  readonly data?: string;
  readonly time: string;
}

/** What the store needs of the transport: its connection, made on first use. */
export interface DeadLetterLink {
  link(): Promise<{ nc: NatsConnection; jsm: JetStreamManager }>;
}

export class NatsDeadLetterStore implements DeadLetterStore {
  private ensured = false;

  constructor(
    private readonly transport: DeadLetterLink,
    private readonly names: NatsNames,
    private readonly replicas: number,
    /** Make the stream when missing (off for the CLI: reading a missing stream finds no entries). */
    private readonly create: boolean,
  ) {}

  /** Store a dead letter (Delivery.deadLetter): resolves once the server confirmed it. */
  async add(group: string, topic: string, headers: Readonly<Record<string, string>>, body: Uint8Array): Promise<void> {
    const { nc } = await this.ready(true);
    const reply = await nc.request(this.names.deadLetterSubject(group), body, { headers: toNatsHeaders(headers, undefined, topic), timeout: TIMEOUT_MS });
    const ack = reply.json<{ error?: { description: string } }>();
    if (ack.error !== undefined) throw new Error(`nats: the dead-letter stream refused an entry: ${ack.error.description}`);
  }

  async list(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    checkQuery(filter);
    const limit = limitOf(filter);
    const out: DeadLetter[] = [];
    if (limit === 0) return out;
    const after = filter?.after === undefined ? 0 : Number(filter.after);
    if (!Number.isSafeInteger(after)) return out;
    for await (const entry of this.walk(filter?.group, after + 1)) {
      if (matchesQuery(entry, filter) && out.push(entry) >= limit) break;
    }
    return out;
  }

  async get(entryId: string): Promise<DeadLetter | undefined> {
    const seq = Number(entryId);
    if (!/^[1-9][0-9]{0,15}$/.test(entryId)) return undefined;
    const stored = await this.read(seq, this.names.deadLetterSubject("*"), true);
    return stored?.seq === seq ? this.toEntry(stored) : undefined;
  }

  async count(query?: DeadLetterQuery): Promise<number> {
    checkQuery(query);
    let n = 0;
    for await (const entry of this.walk(query?.group, 1)) if (matchesQuery(entry, query)) n++;
    return n;
  }

  async summary(query?: DeadLetterQuery): Promise<DeadLetterSummary[]> {
    checkQuery(query);
    const all: DeadLetter[] = [];
    for await (const entry of this.walk(query?.group, 1)) if (matchesQuery(entry, query)) all.push(entry);
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
    const { jsm } = await this.ready();
    let removed = 0;
    for (const id of new Set(entryIds)) if ((await this.get(id)) !== undefined && (await this.remove(jsm, Number(id)))) removed++;
    return removed;
  }

  /** Entries of one group in this group's count (QueueStats.deadLetters). */
  async countOf(group: string): Promise<number> {
    return this.count({ group });
  }

  private async requeue(entryId: string, wireOf: (e: DeadLetter) => WireMessage): Promise<boolean> {
    const entry = await this.get(entryId);
    if (entry === undefined) return false;
    const { nc, jsm } = await this.ready();
    const wire = wireOf(entry);
    try {
      // No Nats-Msg-Id: the original id is still inside the group stream's duplicate window, and a replay is a new copy.
      const reply = await nc.request(this.names.groupSubject(entry.group), wire.body, { headers: toNatsHeaders(wire.headers, undefined, entry.topic), timeout: TIMEOUT_MS });
      if (reply.json<{ error?: unknown }>().error !== undefined) return false;
    } catch (err) {
      // No responder: the group (its stream) is gone; the entry stays.
      if (err instanceof RequestError && err.isNoResponders()) return false;
      throw err;
    }
    await this.remove(jsm, Number(entryId));
    return true;
  }

  private async remove(jsm: JetStreamManager, seq: number): Promise<boolean> {
    try {
      return await jsm.streams.deleteMessage(this.names.deadLetterStream(), seq, false);
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private async *walk(group: string | undefined, from: number): AsyncGenerator<DeadLetter> {
    const subject = this.names.deadLetterSubject(group ?? "*");
    let seq = from;
    for (;;) {
      const stored = await this.read(seq, subject, false);
      if (stored === undefined) return;
      yield this.toEntry(stored);
      seq = stored.seq + 1;
    }
  }

  /** The entry at `seq` (exact) or the first at or after it on `subject`; undefined when none. */
  private async read(seq: number, subject: string, exact: boolean): Promise<RawStored | undefined> {
    const { nc } = await this.ready();
    const request = exact ? { seq } : { seq, next_by_subj: subject };
    const reply = await nc.request(`$JS.API.STREAM.MSG.GET.${this.names.deadLetterStream()}`, JSON.stringify(request), { timeout: TIMEOUT_MS });
    const body = reply.json<{ message?: RawStored; error?: { code: number; description: string } }>();
    if (body.message !== undefined) return body.message;
    // 404: no such entry, or no dead-letter stream yet (nothing was ever dead-lettered).
    if (body.error?.code === 404) return undefined;
    throw new Error(`nats: reading the dead-letter stream failed: ${body.error?.description ?? "no message"}`);
  }

  private toEntry(stored: RawStored): DeadLetter {
    const raw = stored.hdrs === undefined ? undefined : MsgHdrsImpl.decode(Buffer.from(stored.hdrs, "base64"));
    const { headers, topic } = fromNatsHeaders(raw);
    const group = decodeToken(stored.subject.slice(stored.subject.lastIndexOf(".") + 1));
    return {
      entryId: String(stored.seq),
      messageId: headers["ce-id"] ?? "",
      group,
      topic: topic ?? headers["ce-type"] ?? "",
      key: headers["ce-key"],
      wire: { headers, body: stored.data === undefined ? new Uint8Array() : new Uint8Array(Buffer.from(stored.data, "base64")) },
      deadLetteredAt: Date.parse(stored.time),
    };
  }

  private async ready(write = false): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
    const link = await this.transport.link();
    if (this.ensured || !(write || this.create)) return link;
    const name = this.names.deadLetterStream();
    try {
      await link.jsm.streams.info(name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await link.jsm.streams.add({ name, subjects: [this.names.deadLetterSubject("*")], storage: StorageType.File, num_replicas: this.replicas });
    }
    this.ensured = true;
    return link;
  }
}
