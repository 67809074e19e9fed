/**
 * `missive migrate`: create the outbox and inbox tables (docs/outbox-inbox.md)
 * on PostgreSQL, MySQL/MariaDB or SQLite; idempotent. `--print` shows the SQL
 * instead (the same statements as sql/<dialect>/*.sql, with the names given).
 */
import type { Command } from "commander";
import { redact } from "../../redact.js";
import { inboxSchema, outboxSchema, renderSql } from "../../stores/sql/schema.js";
import { DEFAULT_INBOX_TABLE, DEFAULT_OUTBOX_TABLE, tableName } from "../../stores/sql/names.js";
import { dialectOf, runOnDatabase } from "../database-url.js";
import { ExitCode, usageError } from "../exit-codes.js";
import { safeText, writeJson, writeOut } from "../output.js";
import { urlOf } from "../session.js";

interface MigrateOptions {
  readonly outboxTable: string;
  readonly inboxTable: string;
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
    .option("--only <which>", "only the `outbox` or the `inbox` table")
    .option("--print", "print the SQL instead of running it (connects to nothing)")
    .option("--json", "one JSON document: {url, dialect, outbox, inbox, statements}")
    .action(async (options: MigrateOptions, command: Command) => {
      const url = urlOf(command);
      if (options.only !== undefined && options.only !== "outbox" && options.only !== "inbox") throw usageError("--only is `outbox` or `inbox`");
      const dialect = dialectOf(url);
      const outbox = options.only === "inbox" ? undefined : tableName(options.outboxTable, DEFAULT_OUTBOX_TABLE, "migrate --outbox-table");
      const inbox = options.only === "outbox" ? undefined : tableName(options.inboxTable, DEFAULT_INBOX_TABLE, "migrate --inbox-table");
      const parts = [...(outbox ? [{ table: outbox, statements: outboxSchema(dialect, outbox) }] : []), ...(inbox ? [{ table: inbox, statements: inboxSchema(dialect, inbox) }] : [])];
      const statements = parts.flatMap((p) => p.statements);
      if (options.print) {
        writeOut(parts.map((p) => renderSql(p.statements, p.table)).join("\n"));
        done(ExitCode.ok);
        return;
      }
      await runOnDatabase(url, statements);
      if (options.json) writeJson({ url: redact(url), dialect, outbox: outbox ?? null, inbox: inbox ?? null, statements: statements.length });
      else writeOut(`${dialect} (${safeText(redact(url))}): ${[outbox && `outbox table ${outbox}`, inbox && `inbox table ${inbox}`].filter(Boolean).join(", ")} ready`);
      done(ExitCode.ok);
    });
}
