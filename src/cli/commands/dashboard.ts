/**
 * `missive dashboard`: the operator console (docs/dashboard.md) served on
 * its own, over the transport of --url, until SIGINT/SIGTERM. Loopback by
 * default; listening anywhere else without a token is refused (exit 2),
 * since the page can replay and discard dead letters.
 */
import { createServer } from "node:http";
import { InvalidArgumentError, type Command } from "commander";
import { parseDeadLetterAlert, type AlertOptions } from "../../dashboard/alerts.js";
import { dashboardHandler } from "../../dashboard/handler.js";
import { isMissiveError } from "../../errors.js";
import { serviceLevel } from "../../runtime/service-level.js";
import { isLoopback } from "../../dashboard/security.js";
import type { Transport } from "../../transport/transport.js";
import { integerIn } from "../args.js";
import { DEFAULT_DEAD_LETTER_TABLE, tableName } from "../../stores/sql/names.js";
import { contractsPathOf, loadContracts } from "../contracts-module.js";
import { openDeadLetterDatabase, type OpenedDeadLetters } from "../dead-letter-database.js";
import { ExitCode, usageError } from "../exit-codes.js";
import { safeText, writeErr, writeOut } from "../output.js";
import { openTransport, urlOf } from "../session.js";
import { stopOnSignals } from "../signals.js";

interface DashboardCommandOptions {
  readonly port: number;
  readonly host: string;
  readonly token?: string;
  readonly readOnly?: boolean;
  readonly contracts?: string;
  readonly replayRate?: number;
  readonly auditFile?: string;
  readonly deadLetters?: string;
  readonly deadLettersTable?: string;
  readonly alertDeadLetters?: number;
  readonly alertDeadLetterRate?: number;
  readonly slo: Record<string, string>;
  readonly dlqAlert: AlertOptions;
}

const DEFAULT_PORT = 7373;

/** `100/s`, `6000/m` or a plain number a second. */
function ratePerSecond(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|m))?\s*$/.exec(value);
  const n = m ? Number(m[1]) * (m[2] === "m" ? 1 / 60 : 1) : Number.NaN;
  if (!(n > 0) || n > 1_000_000) throw new InvalidArgumentError("expected a rate like 100/s or 600/m.");
  return n;
}

/** `--slo order.created=95%<30s`, repeatable: checked here, so a typo is a usage error before anything opens. */
function collectLevel(value: string, levels: Record<string, string>): Record<string, string> {
  const at = value.indexOf("=");
  const type = value.slice(0, at).trim();
  if (at < 1 || type === "") throw new InvalidArgumentError("expected type=level, e.g. order.created=95%<30s.");
  const level = value.slice(at + 1);
  asUsage(() => serviceLevel(level, `--slo ${type}`));
  return { ...levels, [type]: level };
}

/** `--dlq-alert 1000` (a total) or `--dlq-alert 1000/5m` (a rise within a window); both may be given. */
function collectAlert(value: string, alerts: AlertOptions): AlertOptions {
  return { ...alerts, ...asUsage(() => parseDeadLetterAlert(value)) };
}

function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (isMissiveError(err) && err.code === "MISSIVE_CONFIG") throw new InvalidArgumentError(`${err.message}.`);
    throw err;
  }
}

export function registerDashboard(program: Command, done: (code: number) => void): void {
  program
    .command("dashboard")
    .description("serve the web console: queues live, dead letters grouped by failure, safe redrive with an audit trail")
    .option("--port <n>", `port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)`, integerIn(0, 65_535), DEFAULT_PORT)
    .option("--host <address>", "address to listen on (default 127.0.0.1; anything else needs --token)", "127.0.0.1")
    .option("--token <token>", "required on every request (Bearer header, or ?token= once); default $MISSIVE_DASHBOARD_TOKEN")
    .option("--read-only", "refuse every action and hide the buttons")
    .option("--contracts <module>", "ES module exporting the contracts edited messages are validated against; default $MISSIVE_CONTRACTS")
    .option("--replay-rate <rate>", "most replays a second, e.g. 100/s or 600/m (default 100/s)", ratePerSecond)
    .option("--audit-file <path>", "append every action to this JSONL file (also kept in memory and shown)")
    .option("--dead-letters <db-url>", "show a database dead-letter store (postgres://… | mysql://… | sqlite://… | a SQLite path) instead of the transport's own; default $MISSIVE_DEAD_LETTERS")
    .option("--dead-letters-table <name>", "its table (default missive_dlq)")
    .option("--alert-dead-letters <n>", "show an alert when the groups' dead letters add up to at least n", integerIn(1, 1_000_000_000))
    .option("--alert-dead-letter-rate <n>", "show an alert when at least n more dead letters came within 5 minutes", integerIn(1, 1_000_000_000))
    .option("--dlq-alert <alert>", "a dead-letter alert: 1000 (a total) or 1000/5m (that many more within the window); repeatable", collectAlert, {})
    .option("--slo <type=level>", "a service level shown met or not, e.g. order.created=95%<30s; repeatable", collectLevel, {})
    .action(async (options: DashboardCommandOptions, command: Command) => {
      const token = options.token ?? (process.env["MISSIVE_DASHBOARD_TOKEN"] || undefined);
      if (!isLoopback(options.host) && token === undefined) {
        throw usageError(`refusing to listen on ${options.host} without a token: anyone who reaches it could replay or discard dead letters; pass --token (or MISSIVE_DASHBOARD_TOKEN), or listen on 127.0.0.1`);
      }
      const url = urlOf(command);
      const contractsPath = contractsPathOf(options.contracts);
      const contracts = contractsPath === undefined ? undefined : [...(await loadContracts(contractsPath)).values()];
      const deadLettersUrl = options.deadLetters || process.env["MISSIVE_DEAD_LETTERS"] || undefined;
      const table = tableName(options.deadLettersTable, DEFAULT_DEAD_LETTER_TABLE, "--dead-letters-table");
      const database: OpenedDeadLetters | undefined = deadLettersUrl === undefined ? undefined : await openDeadLetterDatabase(deadLettersUrl, table);
      let transport: Transport;
      try {
        transport = await openTransport(url);
      } catch (err) {
        await closeDatabase(database);
        throw err;
      }
      const stop = stopOnSignals();
      try {
        const handler = dashboardHandler({
          transport, source: url,
          ...(database === undefined ? {} : { deadLetters: database.store }),
          ...(token === undefined ? {} : { token }),
          ...(options.readOnly ? { readOnly: true } : {}),
          ...(contracts === undefined ? {} : { contracts }),
          ...(options.replayRate === undefined ? {} : { replayRate: { perSecond: options.replayRate } }),
          ...(options.auditFile === undefined ? {} : { auditFile: options.auditFile }),
          alerts: {
            ...(options.alertDeadLetters === undefined ? {} : { deadLetters: options.alertDeadLetters }),
            ...(options.alertDeadLetterRate === undefined ? {} : { deadLettersPer5m: options.alertDeadLetterRate }),
            ...options.dlqAlert,
          },
          slo: options.slo,
        });
        const server = createServer(handler);
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(options.port, options.host, () => resolve());
        });
        const address = server.address();
        const port = typeof address === "object" && address !== null ? address.port : options.port;
        const host = options.host.includes(":") ? `[${options.host}]` : options.host;
        writeOut(`missive dashboard on http://${host}:${port}/${options.readOnly ? " (read-only)" : ""}${token === undefined ? "" : " (token required)"}; Ctrl-C to stop`);
        await new Promise<void>((resolve) => stop.signal.addEventListener("abort", () => resolve(), { once: true }));
        handler.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
      } finally {
        stop.dispose();
        // Shutting down: the dashboard is gone either way; a failed close is said, not fatal.
        await transport.close().catch((err: unknown) => writeErr(`missive dashboard: closing the transport failed: ${safeText(err instanceof Error ? err.message : String(err))}`));
        await closeDatabase(database);
      }
      done(ExitCode.ok);
    });
}

/** A close that fails changes nothing the dashboard did; it is said on stderr. */
async function closeDatabase(database: OpenedDeadLetters | undefined): Promise<void> {
  await database?.close().catch((err: unknown) => void process.stderr.write(`warning: closing the dead-letter database failed: ${err instanceof Error ? err.message : String(err)}\n`));
}
