/**
 * Dead letters kept in a database (src/stores/dead-letters.ts), for any
 * transport: how the runtime writes one, and the DeadLetterStore the admin
 * works on, whose replays go back through the transport.
 *
 * Both moves are at-least-once, never at-most-once. Dead-lettering commits
 * the row, then acks: a crash between leaves the row and the message, which
 * comes back and, failing again, replaces its row (one entry per group and
 * message id). Replay publishes with a confirm, then removes the row by
 * entry id: a crash between leaves both (the inbox deduplicates the copy, the
 * message id being kept), and a replayed message that dies again before the
 * removal has a new entry id, which the removal leaves alone.
 */
import { UnroutableError } from "../errors.js";
import { createHash } from "node:crypto";
import { decodeUtf8, parseJsonSafely } from "../envelope/safe-json.js";
import { STRUCTURED_CONTENT_TYPE, CONTENT_TYPE, type WireMessage } from "../envelope/wire.js";
import type { DeadLetterDatabase } from "../stores/dead-letters.js";
import { withoutDiagnostics } from "../transport/diagnostic-prefix.js";
import type { DeadLetter, DeadLetterFilter, DeadLetterQuery, DeadLetterStore, DeadLetterSummary, OutgoingMessage, Transport } from "../transport/transport.js";
import { wirePriority } from "../envelope/expiry-priority.js";

/** Entries replayed per transport publish: bounded memory whatever the batch the admin asks for. */
const REPLAY_CHUNK = 64;

/**
 * The message id an entry is kept under: `ce-id` (binary mode), the
 * document's `id` (structured mode), or, for a message that has neither (a
 * plain client's), a hash of its body and original headers, the same for
 * every redelivered copy, so the one-entry-per-message rule still holds.
 */
export function messageIdOf(wire: WireMessage): string {
  const id = wire.headers["ce-id"];
  if (typeof id === "string" && id !== "") return id;
  if ((wire.headers[CONTENT_TYPE] ?? "").toLowerCase().startsWith(STRUCTURED_CONTENT_TYPE)) {
    try {
      const doc = parseJsonSafely(decodeUtf8(wire.body)) as { id?: unknown } | null;
      if (doc !== null && typeof doc === "object" && typeof doc.id === "string" && doc.id !== "") return doc.id;
    } catch {
      // Not a readable document: it has no id to offer, and the hash below names it instead.
    }
  }
  const hash = createHash("sha256").update(JSON.stringify(withoutDiagnostics(wire.headers))).update(wire.body);
  return `sha256:${hash.digest("hex")}`;
}

/** The admin's store over a database table: reads and discards are the table's, replays publish through `transport`. */
export function databaseDeadLetterStore(database: DeadLetterDatabase, transport: Transport): DeadLetterStore {
  return new DatabaseDeadLetterStore(database, transport);
}

class DatabaseDeadLetterStore implements DeadLetterStore {
  constructor(
    private readonly db: DeadLetterDatabase,
    private readonly transport: Transport,
  ) {}

  list(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    return this.db.list(filter);
  }

  get(entryId: string): Promise<DeadLetter | undefined> {
    return this.db.get(entryId);
  }

  count(query?: DeadLetterQuery): Promise<number> {
    return this.db.count(query);
  }

  summary(query?: DeadLetterQuery): Promise<DeadLetterSummary[]> {
    return this.db.summary(query);
  }

  discard(entryIds: readonly string[]): Promise<number> {
    return this.db.remove(entryIds);
  }

  /**
   * Publish each entry to its own group (same id and key, diagnostics
   * stripped, so attempts start from zero), then remove the rows whose
   * publish was confirmed. An entry whose group no longer exists (the
   * transport says unroutable) stays. Any other failed publish rejects, after
   * the rows of the confirmed ones were removed.
   */
  async replay(entryIds: readonly string[]): Promise<number> {
    const ids = [...new Set(entryIds)];
    let moved = 0;
    for (let i = 0; i < ids.length; i += REPLAY_CHUNK) {
      const entries: DeadLetter[] = [];
      for (const id of ids.slice(i, i + REPLAY_CHUNK)) {
        const entry = await this.db.get(id);
        if (entry) entries.push(entry);
      }
      if (entries.length === 0) continue;
      const results = await this.transport.publish(entries.map((e) => outgoing(e, { headers: withoutDiagnostics(e.wire.headers), body: e.wire.body })));
      const confirmed = entries.filter((_, n) => results[n] === undefined);
      await this.db.remove(confirmed.map((e) => e.entryId));
      moved += confirmed.length;
      const failure = results.find((r) => r !== undefined && !(r instanceof UnroutableError));
      if (failure) throw failure;
    }
    return moved;
  }

  async replayEdited(entryId: string, wire: WireMessage): Promise<boolean> {
    const entry = await this.db.get(entryId);
    if (!entry) return false;
    const [result] = await this.transport.publish([outgoing(entry, wire)]);
    if (result) throw result;
    await this.db.remove([entry.entryId]);
    return true;
  }
}

function outgoing(entry: DeadLetter, wire: WireMessage): OutgoingMessage {
  // A replay keeps the message's priority (binary mode: its `ce-priority` header).
  const priority = wirePriority(wire.headers);
  const message = { topic: entry.topic, id: entry.messageId, key: entry.key, wire, group: entry.group };
  return priority === undefined ? message : { ...message, priority };
}
