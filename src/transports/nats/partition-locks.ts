/**
 * Owners of an ordered group's partitions (ADR 012): one entry per
 * partition in the `<PREFIX>_LOCKS` stream, one message per subject, every
 * message removed by the server `LOCK_TTL_MS` after it was stored. An owner
 * writes its entry again (compare-and-set on the subject's last sequence,
 * `Nats-Expected-Last-Subject-Sequence`) well within the TTL; a crashed
 * owner's entry expires and the next claim (expected sequence 0) wins. A
 * graceful owner writes a `free` entry instead: the next owner may start at
 * once, because the leaving one gave everything back in order.
 *
 * Fencing is by time: an owner counts its entry from the moment it *sent*
 * the write (the server stored it later, so the server's expiry is later
 * still) and stops at `LOCK_TTL_MS - LOCK_MARGIN_MS` after it unless a
 * newer write was confirmed. So a stale owner stops before its entry can
 * expire and anyone else can claim it.
 *
 * Members: every member of an ordered group writes an entry of its own in
 * the same stream every round (`beat`), which the same age limit removes
 * `LOCK_TTL_MS` after a member stops; a member closing cleanly removes its
 * own at once (`leave`). Counting them (`members`) is one stream info with
 * a subject filter, which 2.9 answers with the subjects it holds.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { RetentionPolicy, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { isNotFound } from "./topology.js";
import { decodeToken, type NatsNames } from "./names.js";

/** How long an entry lives after its last write, ms. */
export const LOCK_TTL_MS = 6_000;
/** An owner stops this long before its entry could expire, ms. */
export const LOCK_MARGIN_MS = 1_500;
const MS = 1_000_000;
const TIMEOUT_MS = 2_000;
/** JetStream: no message for the subject; the expected last subject sequence did not match. */
const NO_MESSAGE = 10037;

export interface LockEntry {
  /** The subject's last sequence: what the next compare-and-set expects. */
  readonly seq: number;
  /** The owner's member id, or "" for a partition given back cleanly. */
  readonly owner: string;
}

export type WriteResult = { readonly seq: number } | "lost";

export class PartitionLocks {
  constructor(
    private readonly nc: NatsConnection,
    private readonly names: NatsNames,
    private readonly replicas: number,
  ) {}

  /** Make the lock stream if missing (every ordered subscription may; the first wins). */
  async ensure(jsm: JetStreamManager): Promise<void> {
    try {
      await jsm.streams.info(this.names.lockStream());
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await jsm.streams.add({
        name: this.names.lockStream(),
        subjects: [this.names.lockSubjects()],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        num_replicas: this.replicas,
        max_msgs_per_subject: 1,
        max_age: LOCK_TTL_MS * MS,
      });
    } catch (err) {
      // Another member made it between the look-up and the add: what we wanted.
      await jsm.streams.info(this.names.lockStream()).catch(() => Promise.reject(err));
    }
  }

  /** The partition's entry, undefined when there is none (never claimed, or expired). */
  async read(group: string, index: number): Promise<LockEntry | undefined> {
    const reply = await this.nc.request(`$JS.API.STREAM.MSG.GET.${this.names.lockStream()}`, JSON.stringify({ last_by_subj: this.names.lockSubject(group, index) }), { timeout: TIMEOUT_MS });
    const answer = reply.json<{ message?: { seq: number; data?: string }; error?: { err_code?: number; description?: string } }>();
    if (answer.error !== undefined) {
      if (answer.error.err_code === NO_MESSAGE) return undefined;
      throw new Error(`nats: reading partition lock ${group}/${index} failed: ${answer.error.description ?? "unknown"}`);
    }
    const body = Buffer.from(answer.message?.data ?? "", "base64").toString("utf8");
    return { seq: answer.message?.seq ?? 0, owner: (JSON.parse(body === "" ? "{}" : body) as { owner?: string }).owner ?? "" };
  }

  /** Say `member` is alive: its entry lives `LOCK_TTL_MS` after this write. */
  async beat(group: string, member: string): Promise<void> {
    const reply = await this.nc.request(this.names.memberSubject(group, member), "", { timeout: TIMEOUT_MS });
    const ack = reply.json<{ error?: { description?: string } }>();
    if (ack.error !== undefined) throw new Error(`nats: writing member entry of ${group} failed: ${ack.error.description ?? "unknown"}`);
  }

  /** The ids of the group's members whose entries have not expired. */
  async members(group: string): Promise<string[]> {
    const filter = this.names.memberSubject(group, "*");
    const reply = await this.nc.request(`$JS.API.STREAM.INFO.${this.names.lockStream()}`, JSON.stringify({ subjects_filter: filter }), { timeout: TIMEOUT_MS });
    const info = reply.json<{ state?: { subjects?: Record<string, number> }; error?: { description?: string } }>();
    if (info.error !== undefined) throw new Error(`nats: counting the members of ${group} failed: ${info.error.description ?? "unknown"}`);
    const prefix = filter.slice(0, -1);
    return Object.keys(info.state?.subjects ?? {}).filter((s) => s.startsWith(prefix)).map((s) => decodeToken(s.slice(prefix.length)));
  }

  /** Remove `member`'s entry now (a clean close): the others count one fewer at their next round, not after the TTL. */
  async leave(group: string, member: string): Promise<void> {
    const reply = await this.nc.request(`$JS.API.STREAM.PURGE.${this.names.lockStream()}`, JSON.stringify({ filter: this.names.memberSubject(group, member) }), { timeout: TIMEOUT_MS });
    const answer = reply.json<{ error?: { description?: string } }>();
    if (answer.error !== undefined) throw new Error(`nats: removing member entry of ${group} failed: ${answer.error.description ?? "unknown"}`);
  }

  /** Write `owner` ("" frees it) if the subject's last sequence is still `expected` (0: no entry). */
  async write(group: string, index: number, owner: string, expected: number): Promise<WriteResult> {
    const h = natsHeaders();
    h.set("Nats-Expected-Last-Subject-Sequence", String(expected));
    const reply = await this.nc.request(this.names.lockSubject(group, index), JSON.stringify({ owner }), { headers: h, timeout: TIMEOUT_MS });
    const ack = reply.json<{ seq?: number; error?: { err_code?: number; description?: string } }>();
    if (ack.error !== undefined) {
      // Wrong last sequence: someone else wrote first. Anything else is a failure to retry.
      if (/wrong last sequence/i.test(ack.error.description ?? "")) return "lost";
      throw new Error(`nats: writing partition lock ${group}/${index} failed: ${ack.error.description ?? "unknown"}`);
    }
    return { seq: ack.seq ?? 0 };
  }
}
