/**
 * `missive migrate`: create the outbox and inbox tables (docs/outbox-inbox.md)
 * on PostgreSQL, MySQL/MariaDB or SQLite, or with `--only dead-letters` the
 * dead-letter table (docs/dead-letters.md); idempotent. `--print` shows the SQL
 * instead (the same statements as sql/<dialect>/*.sql, with the names given).
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

interface MigrateOptions {
  readonly outboxTable: string;
  readonly inboxTable: string;
  readonly deadLettersTable: string;
  readonly only?: string;
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
    .option("--only <which>", "only the `outbox` or the `inbox` table, or the `dead-letters` table (not made by default)")
    .option("--print", "print the SQL instead of running it (connects to nothing)")
    .option("--json", "one JSON document: {url, dialect, outbox, inbox, statements}")
    .action(async (options: MigrateOptions, command: Command) => {
      const url = urlOf(command);
      if (options.only !== undefined && !["outbox", "inbox", "dead-letters"].includes(options.only)) throw usageError("--only is `outbox`, `inbox` or `dead-letters`");
      const dialect = dialectOf(url);
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
