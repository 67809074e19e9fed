/**
 * The database dead-letter store: dead letters kept in a table of the
 * application's own database (SQLite, PostgreSQL, MySQL/MariaDB), for
 * transports whose broker has no browsable dead-letter store, or when the
 * operators want one place for every broker's dead letters. Give one to the
 * bus (`missive({ deadLetters })`): dead-lettering then writes the entry
 * here and acks the delivery, and `bus.deadLetters()` / `missive dlq` work
 * on it (docs/dead-letters.md).
 *
 * This port only keeps rows. Replaying is the runtime's (it publishes
 * through the transport, then removes the row), so a store never needs the
 * transport and the core never needs a database client.
 */
import { ConfigurationError } from "../errors.js";
import type { WireMessage } from "../envelope/wire.js";
import type { DeadLetter, DeadLetterFilter, DeadLetterQuery, DeadLetterSummary } from "../transport/transport.js";

/** One dead letter to keep. */
export interface NewDeadLetter {
  readonly group: string;
  /** The message type (the topic it was delivered on). */
  readonly topic: string;
  /** The message id (ce-id): with `group`, the entry's identity. */
  readonly messageId: string;
  readonly key: string | undefined;
  /** The original body and headers, diagnostics included. */
  readonly wire: WireMessage;
  /** Unix ms. */
  readonly deadLetteredAt: number;
}

export interface DeadLetterDatabase {
  /** Short name for logs (`sqlite`, `postgres`, `mysql`). */
  readonly name: string;
  /** The table the entries live in. */
  readonly table: string;
  /**
   * Keep one dead letter; resolves with its entry id once it is committed.
   * One entry per (group, message id): adding a pair that is already there
   * replaces that entry (newer diagnostics, a new, later entry id), so a copy
   * redelivered after a crash between this write and the ack, or a replayed
   * message that dies again, never makes two entries, and a replay that is
   * still finishing never removes the newer one (it removes by entry id).
   * Rejects, and keeps nothing, when the entry cannot be stored exactly:
   * MessageTooLargeError over the store's size bound, DecodeError for text a
   * database cannot hold (NUL, lone surrogates), ConnectionError when the
   * database fails.
   */
  add(entry: NewDeadLetter): Promise<string>;
  /** Entries matching `filter`, in entry id order (oldest first). */
  list(filter?: DeadLetterFilter): Promise<DeadLetter[]>;
  /** One entry whole, or `undefined` when no entry has that id. */
  get(entryId: string): Promise<DeadLetter | undefined>;
  count(query?: DeadLetterQuery): Promise<number>;
  /** Counts by type × error, most frequent first. */
  summary(query?: DeadLetterQuery): Promise<DeadLetterSummary[]>;
  /** Delete entries by id; ids that name no entry are skipped. Resolves with how many were deleted. */
  remove(entryIds: readonly string[]): Promise<number>;
}

const METHODS = ["add", "list", "get", "count", "summary", "remove"] as const;

/** Throws ConfigurationError unless `value` is a DeadLetterDatabase (a bus option, checked once). */
export function checkDeadLetterDatabase(value: unknown, what: string): DeadLetterDatabase {
  const v = value as Partial<Record<(typeof METHODS)[number], unknown>> | null;
  if (v === null || typeof v !== "object" || METHODS.some((m) => typeof v[m] !== "function")) {
    throw new ConfigurationError(`${what} must be a dead-letter database store (sqliteDeadLetters, postgresDeadLetters or mysqlDeadLetters from missive/stores/*)`);
  }
  return value as DeadLetterDatabase;
}
