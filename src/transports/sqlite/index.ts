/**
 * `missive/sqlite`: the embedded SQLite transport and its inbox.
 */
export { sqliteTransport } from "./sqlite-transport.js";
export type { SqliteTransport } from "./sqlite-transport.js";
export { sqliteInbox } from "./inbox.js";
export type { SqliteInboxOptions } from "./inbox.js";
export { parseSqliteUrl } from "./url.js";
export { SQLITE_DEFAULTS } from "./options.js";
export type { SqliteSynchronous, SqliteTransportOptions } from "./options.js";
