/**
 * `missive/postgres`: the PostgreSQL transport (node-postgres, an optional peer dependency).
 */
export { postgresTransport } from "./postgres-transport.js";
export type { PostgresTransport } from "./postgres-transport.js";
export { parsePostgresUrl } from "./options.js";
export type { PostgresTransportOptions } from "./options.js";
export { pgTransportSchema, pgTableNames, renderTransportSql, DEFAULT_TABLE_PREFIX } from "./schema.js";
export type { PgTableNames } from "./schema.js";
export type { PgTransaction, KyselyTransactionHandle } from "./tx-handle.js";
