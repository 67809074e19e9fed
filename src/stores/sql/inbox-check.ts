/**
 * The check an SQL inbox runs when a consumer starts: its table must exist.
 * Without it the consumer would start, take a message, and stop at the first
 * insert; with it the start fails with the command that creates the table.
 */
import { AuthenticationError, ConfigurationError } from "../../errors.js";
import { toStoreError } from "./errors.js";
import { DEFAULT_INBOX_TABLE } from "./names.js";

export type InboxDialect = "postgres" | "mysql" | "sqlite";

const URL_EXAMPLE: Record<InboxDialect, string> = { postgres: "postgres://…", mysql: "mysql://…", sqlite: "sqlite://…" };

/** The command (and the call) that creates `table`, for an error message. */
export function inboxMigrateHint(dialect: InboxDialect, table: string): string {
  const named = table === DEFAULT_INBOX_TABLE ? "" : ` --inbox-table ${table}`;
  return `run \`missive migrate --url ${URL_EXAMPLE[dialect]} --only inbox${named}\` (or call inbox.migrate() once at startup)`;
}

/**
 * Runs `probe` (a statement that reads nothing from the table). A missing
 * table or refused credentials reject with a typed error; a database that is
 * only unreachable now does not stop the consumer, as the inbox's own
 * statements retry through the delivery's attempts once it is back.
 */
export async function checkInboxTable(dialect: InboxDialect, table: string, probe: () => unknown): Promise<void> {
  try {
    await probe();
  } catch (err) {
    const typed = toStoreError(err, `${dialect} inbox`, `reading the inbox table ${table} failed`);
    if (typed instanceof ConfigurationError) {
      throw new ConfigurationError(`${dialect} inbox: the table ${table} does not exist; ${inboxMigrateHint(dialect, table)}`, { cause: err });
    }
    if (typed instanceof AuthenticationError) throw typed;
    // Unreachable now (a ConnectionError): not a configuration fault; each message's inbox write retries it.
  }
}
