/**
 * `missive doctor`: what a confirm means on this transport (docs/contract.md §1),
 * from what the file or broker says and what the processes using it
 * recorded (the transport's DurabilityReporting), never from this command's
 * own options or connection.
 */
import type { Command } from "commander";
import { redact } from "../../connect.js";
import { ExitCode } from "../exit-codes.js";
import { safeText, writeJson, writeOut } from "../output.js";
import { openUnconnected, urlOf } from "../session.js";
import { cleanUp } from "../cleanup.js";
import { reportsDurability } from "../../transport/abilities.js";
import type { Transport } from "../../transport/transport.js";
import { ErrorCodes, isMissiveError } from "../../errors.js";

export function registerDoctor(program: Command, done: (code: number) => void): void {
  program
    .command("doctor")
    .description("how durable a confirm is, as the file or broker is set up and as each process using it opened it (exit 3 on a durability warning)")
    .option("--json", "one JSON document: {url, transport, capabilities, durability}")
    .action(async (options: { json?: boolean }, command: Command) => {
      const url = urlOf(command);
      const transport = await openUnconnected(url, true);
      try {
        done(await diagnose(transport, url, options.json === true));
      } finally {
        await cleanUp("closing the transport", () => transport.close());
      }
    });
}

/**
 * The server's settings are worth reporting even when the transport cannot start: on a fresh PostgreSQL
 * database missive's tables are not there yet (a service makes them on connect), and doctor is what a new
 * user runs first. So a failed connect is said and the durability is still read; only when that fails too
 * (the broker is unreachable) does doctor fail, with the connect's error.
 */
async function diagnose(transport: Transport, url: string, json: boolean): Promise<number> {
  const notReady = await transport.connect().then(() => undefined, (err: unknown) => err);
  // Only a transport that reached its server and refused to start (missing tables: a ConfigurationError) is
  // asked; after a connection or authentication failure a read would retry the connect until it hung.
  if (notReady !== undefined && !(isMissiveError(notReady) && notReady.code === ErrorCodes.CONFIG)) throw notReady;
  let report;
  try {
    report = reportsDurability(transport) ? await bounded(transport.durability(), notReady === undefined ? undefined : AFTER_FAILED_START_MS) : undefined;
  } catch (err) {
    throw notReady ?? err;
  }
  if (!report && notReady) throw notReady;
  const note = notReady === undefined ? undefined : `the transport did not start: ${startFailure(notReady)}`;
  if (json) {
    writeJson({ url: redact(url), transport: transport.name, capabilities: transport.capabilities, durability: report ?? null, ...(note ? { note } : {}) });
  } else {
    writeOut(`transport: ${transport.name} (${safeText(redact(url))})`);
    writeOut(`capabilities: ${Object.entries(transport.capabilities).map(([k, v]) => `${k}=${String(v)}`).join(" ")}`);
    if (note) writeOut(`note: ${safeText(note)}`);
    if (!report) writeOut("durability: this transport reports nothing");
    else {
      writeOut(`confirm: ${report.confirm}`);
      for (const [k, v] of Object.entries(report.settings)) writeOut(`  ${k}: ${safeText(v)}`);
      for (const w of report.warnings) writeOut(`WARNING: ${w}`);
      if (report.warnings.length === 0) writeOut("no durability warnings");
    }
  }
  return report && report.warnings.length > 0 ? ExitCode.durabilityWarning : ExitCode.ok;
}

function startFailure(err: unknown): string {
  const message = err instanceof Error ? redact(err.message) : String(err);
  return isMissiveError(err) ? `${message} [${err.code}]` : message;
}

/** How long doctor waits for the settings of a transport that did not start. */
const AFTER_FAILED_START_MS = 10_000;

async function bounded<T>(work: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
