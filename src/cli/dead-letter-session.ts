/**
 * The dead-letter admin a `dlq` command works on: over the database store
 * named by `--dead-letters` (or MISSIVE_DEAD_LETTERS) when there is one, else
 * over the transport's own store; the transport is opened either way (a
 * replay publishes through it). Everything is closed however the work ends.
 */
import type { Command } from "commander";
import { deadLetterAdmin, type DeadLetterAdmin } from "../runtime/dead-letter-admin.js";
import { DEFAULT_DEAD_LETTER_TABLE, tableName } from "../stores/sql/names.js";
import { openDeadLetterDatabase } from "./dead-letter-database.js";
import type { Transport } from "../transport/transport.js";
import { withTransport } from "./session.js";

interface DeadLetterOptions {
  readonly deadLetters?: string;
  readonly deadLettersTable?: string;
}

/** `readOnly`: ls, show and summary, which must not write into a SQLite file (session.ts). */
export async function withDeadLetterAdmin<T>(command: Command, work: (admin: DeadLetterAdmin, transport: Transport) => Promise<T>, readOnly = false): Promise<T> {
  const options = command.optsWithGlobals() as DeadLetterOptions;
  const url = options.deadLetters || process.env["MISSIVE_DEAD_LETTERS"] || undefined;
  const table = tableName(options.deadLettersTable, DEFAULT_DEAD_LETTER_TABLE, "--dead-letters-table");
  return withTransport(command, async (transport) => {
    if (url === undefined) return work(deadLetterAdmin(transport), transport);
    const database = await openDeadLetterDatabase(url, table);
    try {
      return await work(deadLetterAdmin(transport, { deadLetters: database.store }), transport);
    } finally {
      // A close that fails changes nothing the command did; the command's own result or error stands.
      await database.close().catch((err: unknown) => void process.stderr.write(`warning: closing the dead-letter database failed: ${err instanceof Error ? err.message : String(err)}\n`));
    }
  }, readOnly);
}
