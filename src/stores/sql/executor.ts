/**
 * A transaction handle from a query builder (Kysely, …), adapted to what the
 * outbox needs: run one statement with parameters in the caller's
 * transaction. `missive/stores/kysely` makes one from a Kysely transaction;
 * the statement's placeholders are the outbox's dialect's, so the builder
 * must talk to the same database as the outbox.
 */
export const SQL_EXECUTOR: unique symbol = Symbol.for("missive.sqlExecutor");

export interface SqlResult {
  readonly rows: ReadonlyArray<Record<string, unknown>>;
  readonly affected: number;
}

export interface SqlExecutor {
  readonly [SQL_EXECUTOR]: true;
  run(sql: string, params: readonly unknown[]): Promise<SqlResult>;
}

export function isSqlExecutor(value: unknown): value is SqlExecutor {
  return value !== null && typeof value === "object" && (value as Partial<SqlExecutor>)[SQL_EXECUTOR] === true && typeof (value as SqlExecutor).run === "function";
}
