/**
 * `missive/stores/postgres`: the transactional outbox, its relay, the inbox
 * and a dead-letter store on PostgreSQL, through node-postgres (`pg`, an
 * optional peer dependency). See docs/outbox-inbox.md, docs/dead-letters.md.
 */
export { postgresOutbox } from "./outbox.js";
export type { PostgresOutbox, PostgresOutboxOptions, PgQueryable } from "./outbox.js";
export { postgresInbox } from "./inbox.js";
export type { PostgresInbox, PostgresInboxOptions } from "./inbox.js";
export { migratePostgres } from "./migrate.js";
export { postgresDeadLetters } from "./dead-letters.js";
export type { PostgresDeadLetters, PostgresDeadLettersOptions } from "./dead-letters.js";
export type { DeadLetterDatabase, NewDeadLetter } from "../dead-letters.js";
export type { OutboxAddOptions, OutboxLag, OutboxReceipt, OutboxSettings } from "../outbox.js";
export type { OutboxRelay, RelayOptions, RelayStats } from "../relay.js";
export type { RetentionOptions } from "../sql/sweeper.js";
