/**
 * The relay's port to a database: what a dialect (PostgreSQL, MySQL, SQLite)
 * implements so that `startRelay` (relay.ts) can claim, publish and mark its
 * outbox rows. The claiming rules that keep per-key order with several relays
 * are the dialect's: see docs/adr/003-outbox-relay.md.
 */
import { MissiveError } from "../errors.js";
import { toHeaderRecord, type WireMessage } from "../envelope/wire.js";
import type { OutboxLag } from "./outbox.js";

/** A claimed row, ready to publish. `seq` is the table's sequence value. */
export interface RelayRow {
  readonly seq: number;
  readonly id: string;
  readonly topic: string;
  readonly key: string | undefined;
  readonly lane: string;
  readonly wire: WireMessage;
  readonly createdAt: number;
}

/** Rows one relay holds until it settles or abandons them. */
export interface ClaimedBatch {
  /** In publish order: sequence order within each lane. */
  readonly rows: readonly RelayRow[];
  /** Mark `sent` sent (and count an attempt on `failed`), and let go of the claim. */
  settle(sent: readonly RelayRow[], failed: ReadonlyArray<{ readonly row: RelayRow; readonly error: Error }>): Promise<void>;
  /** Let go of the claim without marking anything (the rows will be claimed again). Never rejects. */
  abandon(): Promise<void>;
}

/** What a dialect provides to the relay. */
export interface RelaySource {
  /** e.g. `postgres outbox`: for logs and the lag gauges. */
  readonly name: string;
  readonly table: string;
  /** Claim up to `max` rows; `undefined` when there is nothing this relay may take now. */
  claim(max: number): Promise<ClaimedBatch | undefined>;
  /** Resolve when new rows may have been committed (a notification), after `ms`, or when `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void>;
  lag(): Promise<OutboxLag>;
  /** Delete up to `limit` rows sent before `before` (unix ms); resolves with how many. */
  deleteSent(before: number, limit: number): Promise<number>;
  /** Release the source's own connections (not the user's pool or database). */
  close(): Promise<void>;
}

/** Parse a stored headers column into a null-prototype record of strings. */
export function parseHeaders(text: string): Record<string, string> {
  const parsed = JSON.parse(text) as unknown;
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new MissiveError("MISSIVE_DECODE", "outbox row: headers are not a JSON object");
  return toHeaderRecord(Object.entries(parsed as Record<string, unknown>));
}
