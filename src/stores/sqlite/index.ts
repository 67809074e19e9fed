/**
 * `missive/stores/sqlite`: the transactional outbox, its relay, an inbox and
 * a dead-letter store on a plain better-sqlite3 database, usable with any
 * transport. See docs/outbox-inbox.md and docs/dead-letters.md.
 */
export { sqliteOutbox } from "./outbox.js";
export type { SqliteOutbox, SqliteOutboxOptions } from "./outbox.js";
export { sqliteInboxStore } from "./inbox.js";
export type { SqliteInboxStore, SqliteInboxStoreOptions } from "./inbox.js";
export { sqliteDeadLetters } from "./dead-letters.js";
export type { SqliteDeadLetters, SqliteDeadLettersOptions } from "./dead-letters.js";
export type { DeadLetterDatabase, NewDeadLetter } from "../dead-letters.js";
export type { OutboxAddOptions, OutboxLag, OutboxReceipt, OutboxSettings } from "../outbox.js";
export type { OutboxRelay, RelayOptions, RelayStats } from "../relay.js";
export type { RetentionOptions } from "../sql/sweeper.js";
