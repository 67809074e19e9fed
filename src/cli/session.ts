/**
 * The transport a command works on: from `--url` or MISSIVE_URL, opened
 * with `create: false` (a mistyped SQLite path is a ConfigurationError, not a
 * new empty database), connected, and always closed when the command ends.
 * A SQLite file is checked first (sqlite-file.ts): an empty or foreign file
 * is refused, and a read-only command opens only a complete missive file,
 * without the inbox table the URL form would add, so it writes nothing.
 */
import type { Command } from "commander";
// The shipped transports' URL schemes.
import "../transports/builtin.js";
import { resolveTransport } from "../connect.js";
import type { Transport } from "../transport/transport.js";
import { cleanUp } from "./cleanup.js";
import { usageError } from "./exit-codes.js";

export interface GlobalOptions {
  readonly url?: string;
}

/** The URL a command was given; a usage error when there is none. */
export function urlOf(command: Command): string {
  const url = (command.optsWithGlobals() as GlobalOptions).url ?? process.env["MISSIVE_URL"];
  if (!url) throw usageError("no transport URL: pass --url or set MISSIVE_URL (e.g. sqlite://./missive.db)");
  return url;
}

/** `readOnly`: the command only reads (queues, dlq ls/show/summary, doctor), so opening must not write into the file. */
export async function openTransport(url: string, readOnly = false): Promise<Transport> {
  const transport = await openUnconnected(url, readOnly);
  try {
    await transport.connect();
  } catch (err) {
    await cleanUp("closing the transport", () => transport.close());
    throw err;
  }
  return transport;
}

/** The command's transport, made but not connected (doctor connects itself: it reports even when connecting fails). */
export async function openUnconnected(url: string, readOnly: boolean): Promise<Transport> {
  if (!/^sqlite:/i.test(url)) return (await resolveTransport(url, { create: false })).transport;
  const { checkSqliteFile } = await import("./sqlite-file.js");
  checkSqliteFile(url, readOnly);
  if (!readOnly) return (await resolveTransport(url, { create: false })).transport;
  // Not through the URL registry: it also makes the file's inbox table, a write a reading command must not do.
  const sqlite = await import("../transports/sqlite/index.js");
  return sqlite.sqliteTransport({ ...sqlite.parseSqliteUrl(url), create: false });
}

/** Run `work` with the command's transport open, closing it however `work` ends. */
export async function withTransport<T>(command: Command, work: (transport: Transport) => Promise<T>, readOnly = false): Promise<T> {
  const transport = await openTransport(urlOf(command), readOnly);
  try {
    return await work(transport);
  } finally {
    await cleanUp("closing the transport", () => transport.close());
  }
}
