/**
 * The caller's open transaction a publish joins (`publishIn`, `bus.publish(…, { transaction })`): a
 * node-postgres client inside BEGIN, a Kysely transaction on a PostgresDialect (node-postgres underneath),
 * or `kyselyTx(trx)` from missive/stores/kysely. Each becomes one function that runs a statement in it.
 */
import type { PoolClient } from "pg";
import { ConfigurationError } from "../../errors.js";
import { isSqlExecutor, type SqlExecutor } from "../../stores/sql/executor.js";
import type { KyselyTransactionLike } from "../../stores/kysely/index.js";

/**
 * What a Kysely `Transaction<DB>` is, for any schema `DB`, as far as telling it apart goes: declared
 * structurally so these types need no kysely installed (it is loaded only when one is passed).
 */
export interface KyselyTransactionHandle {
  readonly isTransaction: boolean;
  executeQuery(query: never): Promise<unknown>;
}

/** A transaction of the caller's a publish can join. */
export type PgTransaction = Pick<PoolClient, "query"> | KyselyTransactionHandle | SqlExecutor;

/** Runs one statement in the caller's transaction; `name` prepares it where the handle can (node-postgres). */
export type StatementRunner = <R>(text: string, values: unknown[], name: string) => Promise<R[]>;

const NOT_A_TRANSACTION =
  "postgres transport: a transactional publish needs the caller's open transaction: a node-postgres client after BEGIN, " +
  "a Kysely transaction (db.transaction().execute(async (trx) => …)) on a PostgresDialect, or kyselyTx(trx)";

export async function statementRunner(tx: unknown): Promise<StatementRunner> {
  if (tx === null || typeof tx !== "object") throw new ConfigurationError(NOT_A_TRANSACTION);
  if (isSqlExecutor(tx)) return async <R>(text: string, values: unknown[]) => (await tx.run(text, values)).rows as R[];
  const kysely = tx as Partial<KyselyTransactionHandle>;
  if (typeof kysely.executeQuery === "function") {
    // A Kysely instance outside a transaction would publish on its own, committed at once: refused.
    if (kysely.isTransaction !== true) throw new ConfigurationError(NOT_A_TRANSACTION);
    // Kysely is an optional peer: loaded only now, when the caller evidently has it.
    const { kyselyTx } = await import("../../stores/kysely/index.js");
    const executor = kyselyTx(tx as unknown as KyselyTransactionLike);
    return async <R>(text: string, values: unknown[]) => (await executor.run(text, values)).rows as R[];
  }
  const client = tx as Partial<PoolClient>;
  if (typeof client.query === "function") {
    const pgClient = tx as PoolClient;
    return async <R>(text: string, values: unknown[], name: string) => (await pgClient.query({ name, text, values })).rows as R[];
  }
  throw new ConfigurationError(NOT_A_TRANSACTION);
}
