/**
 * `missive/stores/mysql`: the transactional outbox, its relay, the inbox and
 * a dead-letter store on MySQL ≥ 8.0 and MariaDB ≥ 10.6, through mysql2 (an
 * optional peer dependency; its promise API). See docs/outbox-inbox.md,
 * docs/dead-letters.md.
 */
export { mysqlOutbox } from "./outbox.js";
export type { MysqlOutbox, MysqlOutboxOptions, MysqlQueryable } from "./outbox.js";
export { mysqlInbox } from "./inbox.js";
export type { MysqlInbox, MysqlInboxOptions } from "./inbox.js";
export { mysqlDeadLetters } from "./dead-letters.js";
export type { MysqlDeadLetters, MysqlDeadLettersOptions } from "./dead-letters.js";
export type { DeadLetterDatabase, NewDeadLetter } from "../dead-letters.js";
export type { OutboxAddOptions, OutboxLag, OutboxReceipt, OutboxSettings } from "../outbox.js";
export type { OutboxRelay, RelayOptions, RelayStats } from "../relay.js";
export type { RetentionOptions } from "../sql/sweeper.js";
