/**
 * The error for `idempotency: "inbox"` on a bus without an inbox store (a
 * transport with none of its own, e.g. RabbitMQ, and no `missive({ inbox })`):
 * it carries the code to paste, because "change the URL" from SQLite (whose
 * file is its own inbox) lands exactly here. `missive()` throws it when the
 * bus's own `idempotency` default asks for the inbox; `consume()` when one
 * consumer does.
 */
import { ConfigurationError } from "../errors.js";

/** Who asked for the inbox: the bus's default, or one consumer's group. */
export type InboxAsker = { readonly bus: true } | { readonly group: string };

export function missingInboxError(transport: string, asker: InboxAsker): ConfigurationError {
  const who = "group" in asker ? `the consumer of group ${JSON.stringify(asker.group)} has` : `the bus options have`;
  return new ConfigurationError(
    [
      `${who} idempotency: "inbox", which needs an inbox store, and transport ${transport} keeps none of its own. Give the bus one, in the database your handler writes to:`,
      `  import { postgresInbox } from "missive/stores/postgres";   // or mysqlInbox from "missive/stores/mysql", sqliteInboxStore from "missive/stores/sqlite"`,
      `  const inbox = postgresInbox({ pool });                      // pool: your pg.Pool`,
      `  await inbox.migrate();                                      // creates its table once (or: missive migrate --url postgres://… --only inbox)`,
      `  const bus = await missive({ service, transport, inbox });   // your options as today, plus inbox`,
      `Then ctx.transaction hands your handler the store's handle (a pg PoolClient, typed): write through it and the effect and the dedup record commit together.`,
    ].join("\n"),
  );
}
