/**
 * `missive/stores/sqlite`: the transactional outbox, its relay and an inbox
 * on a plain better-sqlite3 database, usable with any transport. See
 * docs/outbox-inbox.md.
 */
export { sqliteOutbox } from "./outbox.js";
export type { SqliteOutbox, SqliteOutboxOptions } from "./outbox.js";
export { sqliteInboxStore } from "./inbox.js";
export type { SqliteInboxStore, SqliteInboxStoreOptions } from "./inbox.js";
export type { OutboxAddOptions, OutboxLag, OutboxReceipt, OutboxSettings } from "../outbox.js";
export type { OutboxRelay, RelayOptions, RelayStats } from "../relay.js";
export type { RetentionOptions } from "../sql/sweeper.js";
