/**
 * `missive/stores/kysely`: add outbox rows inside a Kysely transaction.
 *
 *   await db.transaction().execute(async (trx) => {
 *     await trx.insertInto("orders").values(order).execute();
 *     await outbox.add(kyselyTx(trx), OrderPlaced, order);
 *   });
 *
 * The outbox's SQL is its database's (placeholders included), so `trx` must
 * be a transaction on that database: a PostgresDialect transaction for
 * `postgresOutbox`, a MysqlDialect one for `mysqlOutbox`.
 */
import { CompiledQuery, type QueryResult } from "kysely";
import { ConfigurationError } from "../../errors.js";
import { SQL_EXECUTOR, type SqlExecutor } from "../sql/executor.js";

export type { SqlExecutor } from "../sql/executor.js";

/**
 * What the outbox needs of a Kysely `Transaction<DB>`, for any database schema `DB` (the outbox runs
 * only its own statements): a structural type, so no `any` leaks into the public signature.
 */
export interface KyselyTransactionLike {
  readonly isTransaction: boolean;
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

export function kyselyTx(trx: KyselyTransactionLike): SqlExecutor {
  if (!trx || typeof trx !== "object" || typeof (trx as Partial<KyselyTransactionLike>).executeQuery !== "function" || !(trx as Partial<KyselyTransactionLike>).isTransaction) {
    throw new ConfigurationError("kyselyTx: pass the transaction Kysely gives db.transaction().execute(async (trx) => …)");
  }
  return {
    [SQL_EXECUTOR]: true,
    async run(sql, params) {
      const result = await trx.executeQuery(CompiledQuery.raw(sql, [...params]));
      return { rows: result.rows as Array<Record<string, unknown>>, affected: Number(result.numAffectedRows ?? 0n) };
    },
  };
}
