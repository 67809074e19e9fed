/**
 * `missive migrate`: create the outbox and inbox tables (docs/outbox-inbox.md)
 * on PostgreSQL, MySQL/MariaDB or SQLite, or with `--only dead-letters` the
 * dead-letter table (docs/dead-letters.md); idempotent. `--print` shows the SQL
 * instead (the same statements as sql/<dialect>/*.sql, with the names given).
 * `--only transport` creates the PostgreSQL transport's queue tables
 * (docs/transports/postgres.md) under `--table-prefix`: the same URL serves
 * the stores and the transport, and only this flag picks the transport's tables.
 */
import type { Command } from "commander";
import { redact } from "../../redact.js";
import { deadLetterSchema } from "../../stores/sql/dead-letter-schema.js";
import { inboxSchema, outboxSchema, renderSql } from "../../stores/sql/schema.js";
import { DEFAULT_DEAD_LETTER_TABLE, DEFAULT_INBOX_TABLE, DEFAULT_OUTBOX_TABLE, tableName } from "../../stores/sql/names.js";
import { dialectOf, runOnDatabase } from "../database-url.js";
import { ExitCode, usageError } from "../exit-codes.js";
import { safeText, writeJson, writeOut } from "../output.js";
import { urlOf } from "../session.js";
import { DEFAULT_TABLE_PREFIX, pgTransportSchema, renderTransportSql } from "../../transports/postgres/schema.js";
import { checkTablePrefix } from "../../transports/postgres/options.js";
import type { Dialect } from "../../stores/sql/schema.js";

/** `--only transport`: the PostgreSQL transport's tables (the transport also makes them on connect unless told not to). */
async function migrateTransport(url: string, dialect: Dialect, options: MigrateOptions, done: (code: number) => void): Promise<void> {
  if (dialect !== "postgres") throw usageError(`--only transport is for a postgres:// URL (the ${dialect} transport, if any, makes its own tables)`);
  const prefix = checkTablePrefix(options.tablePrefix, "migrate --table-prefix");
  if (options.print) {
    writeOut(renderTransportSql(prefix));
    done(ExitCode.ok);
    return;
  }
  const statements = pgTransportSchema(prefix);
  await runOnDatabase(url, statements);
  if (options.json) writeJson({ url: redact(url), dialect, transport: prefix, statements: statements.length });
  else writeOut(`${dialect} (${safeText(redact(url))}): transport tables ${prefix}* ready`);
  done(ExitCode.ok);
}

interface MigrateOptions {
  readonly outboxTable: string;
  readonly inboxTable: string;
  readonly deadLettersTable: string;
  readonly only?: string;
  readonly tablePrefix: string;
  readonly print?: boolean;
  readonly json?: boolean;
}

export function registerMigrate(program: Command, done: (code: number) => void): void {
  program
    .command("migrate")
    .description("create the outbox and inbox tables on a database (--url postgres://… | mysql://… | mariadb://… | sqlite://…); idempotent")
    .option("--outbox-table <name>", "outbox table name", DEFAULT_OUTBOX_TABLE)
    .option("--inbox-table <name>", "inbox table name", DEFAULT_INBOX_TABLE)
    .option("--dead-letters-table <name>", "dead-letter table name (with --only dead-letters)", DEFAULT_DEAD_LETTER_TABLE)
    .option("--only <which>", "only the `outbox` or the `inbox` table, or the `dead-letters` table, or the PostgreSQL `transport` tables (neither made by default)")
    .option("--table-prefix <prefix>", "table prefix of the PostgreSQL transport's tables (with --only transport)", DEFAULT_TABLE_PREFIX)
    .option("--print", "print the SQL instead of running it (connects to nothing)")
    .option("--json", "one JSON document: {url, dialect, outbox, inbox, statements}")
    .action(async (options: MigrateOptions, command: Command) => {
      const url = urlOf(command);
      if (options.only !== undefined && !["outbox", "inbox", "dead-letters", "transport"].includes(options.only)) throw usageError("--only is `outbox`, `inbox`, `dead-letters` or `transport`");
      const dialect = dialectOf(url);
      if (options.only === "transport") {
        await migrateTransport(url, dialect, options, done);
        return;
      }
      const only = (which: string): boolean => (options.only === undefined ? which !== "dead-letters" : options.only === which);
      const outbox = only("outbox") ? tableName(options.outboxTable, DEFAULT_OUTBOX_TABLE, "migrate --outbox-table") : undefined;
      const inbox = only("inbox") ? tableName(options.inboxTable, DEFAULT_INBOX_TABLE, "migrate --inbox-table") : undefined;
      const deadLetters = only("dead-letters") ? tableName(options.deadLettersTable, DEFAULT_DEAD_LETTER_TABLE, "migrate --dead-letters-table") : undefined;
      const parts = [
        ...(outbox ? [{ table: outbox, statements: outboxSchema(dialect, outbox) }] : []),
        ...(inbox ? [{ table: inbox, statements: inboxSchema(dialect, inbox) }] : []),
        ...(deadLetters ? [{ table: deadLetters, statements: deadLetterSchema(dialect, deadLetters) }] : []),
      ];
      const statements = parts.flatMap((p) => p.statements);
      if (options.print) {
        writeOut(parts.map((p) => renderSql(p.statements, p.table)).join("\n"));
        done(ExitCode.ok);
        return;
      }
      await runOnDatabase(url, statements);
      // `deadLetters` only when asked for, so the documented default shape stays as it was.
      const json = { url: redact(url), dialect, outbox: outbox ?? null, inbox: inbox ?? null, ...(deadLetters ? { deadLetters } : {}), statements: statements.length };
      if (options.json) writeJson(json);
      else writeOut(`${dialect} (${safeText(redact(url))}): ${[outbox && `outbox table ${outbox}`, inbox && `inbox table ${inbox}`, deadLetters && `dead-letter table ${deadLetters}`].filter(Boolean).join(", ")} ready`);
      done(ExitCode.ok);
    });
}
