/**
 * What the store conformance suite needs from one database: an inbox and an
 * outbox on tables of the test's own (random names, dropped after), a way to
 * commit business writes together with outbox rows, and relays on
 * connections of their own. One target per database; the suite never changes.
 */
import type { InboxStore, MessageDefinition, Transport } from "../../../src/index.js";
import type { OutboxAddOptions, OutboxLag, OutboxRelay, RelayOptions } from "../../../src/stores/postgres/index.js";

export interface Add {
  readonly definition: MessageDefinition<string, unknown, unknown>;
  readonly data: unknown;
  readonly options?: OutboxAddOptions;
}

export interface OpenWrite {
  /** Ids of the rows this transaction added (not yet committed). */
  readonly ids: readonly string[];
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export interface StoreHandle {
  /** A new inbox store on the handle's inbox table (migrated). */
  inbox(options?: Record<string, unknown>): Promise<InboxStore<unknown>>;
  /** Record one effect of `id` with the transaction handle `tx` an inbox gave (sync on SQLite). */
  effect(tx: unknown, id: string): unknown;
  /** Committed effects by id. */
  effects(): Promise<Map<string, number>>;
  /** One transaction: an effect row per add, then outbox.add for each; committed, or rolled back when `rollback`. Resolves with the ids. */
  write(adds: readonly Add[], options?: { rollback?: boolean }): Promise<string[]>;
  /** Begin a transaction, add rows, and leave it open (targets with concurrent writers only). */
  openWrite?(adds: readonly Add[]): Promise<OpenWrite>;
  /** A relay on connections of its own. */
  relay(transport: Transport, options?: Omit<RelayOptions, "transport">): OutboxRelay;
  lag(): Promise<OutboxLag>;
  /** Outbox rows as stored: id, sent or not, attempts. */
  rows(): Promise<Array<{ id: string; sent: boolean; attempts: number }>>;
  /** Set every sent row's sent_at back by `ms` (retention tests). */
  ageSent(ms: number): Promise<void>;
  /** outbox.add with the transaction handle an inbox gave (`effects(tx)`): synchronous on SQLite, a promise elsewhere. */
  addInTx(tx: unknown, add: Add): unknown;
  /** Add with a raw value as the transaction handle (hostile-input tests). */
  addWith(tx: unknown, add: Add): Promise<unknown>;
  /** Build an outbox / inbox with these options on this database (hostile-input tests): throws synchronously on bad options. */
  makeOutbox(options: Record<string, unknown>): unknown;
  makeInbox(options: Record<string, unknown>): unknown;
  teardown(): Promise<void>;
}

export interface StoreTarget {
  readonly name: string;
  /** Several write transactions can be open at once (PostgreSQL, MariaDB; not SQLite: one writer). */
  readonly concurrentWriters: boolean;
  /** Relays are woken by the database right after a commit (PostgreSQL LISTEN/NOTIFY). */
  readonly notify: boolean;
  setup(): Promise<StoreHandle>;
}

/** A table-name suffix unique to this test run and worker. */
export function uniqueSuffix(): string {
  return `${process.pid.toString(36)}_${Date.now().toString(36)}_${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
}
