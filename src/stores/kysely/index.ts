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
import { CompiledQuery, type Transaction } from "kysely";
import { ConfigurationError } from "../../errors.js";
import { SQL_EXECUTOR, type SqlExecutor } from "../sql/executor.js";

export type { SqlExecutor } from "../sql/executor.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any database schema: the outbox only runs its own statements
export function kyselyTx(trx: Transaction<any>): SqlExecutor {
  if (!trx || typeof trx !== "object" || typeof (trx as unknown as { executeQuery?: unknown }).executeQuery !== "function" || !(trx as unknown as { isTransaction?: unknown }).isTransaction) {
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
