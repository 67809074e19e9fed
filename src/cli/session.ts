/**
 * The transport a command works on: from `--url` or MISSIVE_URL, opened
 * with `create: false` (a mistyped SQLite path is a ConfigurationError, not a
 * new empty database), connected, and always closed when the command ends.
 */
import type { Command } from "commander";
// The shipped transports' URL schemes.
import "../transports/builtin.js";
import { resolveTransport } from "../connect.js";
import type { Transport } from "../transport/transport.js";
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

export async function openTransport(url: string): Promise<Transport> {
  const { transport } = await resolveTransport(url, { create: false });
  try {
    await transport.connect();
  } catch (err) {
    // The error being thrown is what the user needs; a failed close on the way out has nothing left to do.
    await transport.close().catch(() => undefined);
    throw err;
  }
  return transport;
}

/** Run `work` with the command's transport open, closing it however `work` ends. */
export async function withTransport<T>(command: Command, work: (transport: Transport) => Promise<T>): Promise<T> {
  const transport = await openTransport(urlOf(command));
  try {
    return await work(transport);
  } finally {
    // Cleanup of a one-shot command: its result or its error is what the user sees; a failed close has nothing left to do.
    await transport.close().catch(() => undefined);
  }
}
