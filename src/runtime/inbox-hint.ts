/**
 * The error for `idempotency: "inbox"` on a bus without an inbox store (a
 * transport with none of its own, e.g. RabbitMQ, and no `missive({ inbox })`):
 * it carries the code to paste, because "change the URL" from SQLite (whose
 * file is its own inbox) lands exactly here.
 */
import { ConfigurationError } from "../errors.js";

export function missingInboxError(transport: string): ConfigurationError {
  return new ConfigurationError(
    [
      `idempotency: "inbox" needs an inbox store, and transport ${transport} keeps none of its own. Give the bus one, in the database your handler writes to:`,
      `  import { postgresInbox } from "missive/stores/postgres";   // or mysqlInbox from "missive/stores/mysql", sqliteInboxStore from "missive/stores/sqlite"`,
      `  const inbox = postgresInbox({ pool });                      // pool: your pg.Pool`,
      `  const bus = await missive({ service, url, inbox });`,
      `and create its table once: missive migrate --url postgres://… --only inbox (or await inbox.migrate()).`,
      `Then ctx.transaction is the store's handle (a pg PoolClient): write through it and the effect and the dedup record commit together.`,
    ].join("\n"),
  );
}
