/**
 * `missive dlq replay|discard`: by entry ids, or by query (`--all` or at
 * least one filter). By query they count first, ask on stderr (`--yes`
 * skips), draw a progress line on a terminal, and report what they did. An
 * interrupted run (Ctrl-C) stops between batches: what was done stays done,
 * is reported, and the exit code is 5.
 */
import { Option, type Command } from "commander";
import type { BulkOptions as BulkOptionsOfAdmin, BulkResult, DeadLetterAdmin } from "../../runtime/dead-letter-admin.js";
import type { DeadLetterQuery, Transport } from "../../transport/transport.js";
import { integerIn } from "../args.js";
import { ask } from "../confirm.js";
import { CliError, ExitCode, usageError } from "../exit-codes.js";
import { addFilterOptions, describeQuery, hasFilter, queryOf, type FilterOptions } from "../filters.js";
import { assertFiltersExist } from "../known-names.js";
import { progressLine } from "../progress.js";
import { safeText, toJson, writeJson, writeOut } from "../output.js";
import { stopOnSignals } from "../signals.js";
import { withDeadLetterAdmin } from "../dead-letter-session.js";

interface BulkOptions extends FilterOptions {
  readonly all?: boolean;
  readonly yes?: boolean;
  readonly json?: boolean;
  readonly batchSize?: number;
}

interface Verb {
  readonly name: "replay" | "discard";
  readonly past: string;
  readonly byIds: (admin: DeadLetterAdmin, ids: string[]) => Promise<number>;
  readonly byQuery: (admin: DeadLetterAdmin, query: DeadLetterQuery, options: BulkOptionsOfAdmin) => Promise<BulkResult>;
}

const VERBS: readonly Verb[] = [
  { name: "replay", past: "replayed", byIds: (a, ids) => a.replay(ids), byQuery: (a, q, o) => a.replayWhere(q, o) },
  { name: "discard", past: "discarded", byIds: (a, ids) => a.discard(ids), byQuery: (a, q, o) => a.discardWhere(q, o) },
];

export function registerDlqBulk(dlq: Command, done: (code: number) => void): void {
  for (const verb of VERBS) {
    const description = verb.name === "replay"
      ? "put dead letters back into their group's queue (same message id, attempts from zero)"
      : "delete dead letters for good";
    addFilterOptions(dlq.command(verb.name).description(`${description}: by entry ids, or every entry matching --all or filters`))
      .argument("[entryIds...]", "entry ids (from dlq ls)")
      .option("--all", "every dead letter (by query)")
      .option("-y, --yes", "do not ask for confirmation")
      .option("--json", `one JSON document {matched, done}`)
      .addOption(new Option("--batch-size <n>", "entries per store call").argParser(integerIn(1, 10_000)).hideHelp())
      .action(async (ids: string[], options: BulkOptions, command: Command) => {
        done(await run(verb, ids, options, command));
      });
  }
}

async function run(verb: Verb, ids: string[], options: BulkOptions, command: Command): Promise<number> {
  const query = queryOf(options);
  if (ids.length > 0 && (options.all || hasFilter(query))) throw usageError(`dlq ${verb.name}: give entry ids or --all/filters, not both`);
  if (ids.length === 0 && !options.all && !hasFilter(query)) throw usageError(`dlq ${verb.name}: give entry ids, --all, or at least one filter (--group, --type, --error, --id, --since, --until)`);
  if (options.all && hasFilter(query)) throw usageError(`dlq ${verb.name}: --all means every dead letter; leave it out to use filters`);
  return withDeadLetterAdmin(command, async (admin, transport) => {
    return ids.length > 0 ? byIds(verb, admin, [...new Set(ids)], options) : byQuery(verb, admin, transport, options);
  });

  async function byQuery(v: Verb, admin: DeadLetterAdmin, transport: Transport, opts: BulkOptions): Promise<number> {
    const matching = await admin.count(query);
    const what = opts.all ? "" : ` matching ${toJson(describeQuery(query))}`;
    if (matching === 0) {
      await assertFiltersExist(query, admin, transport);
      report(opts, 0, 0, `no dead letters${safeText(what)}: nothing ${v.past}`);
      return ExitCode.ok;
    }
    if (!opts.yes) {
      const verbCap = v.name === "replay" ? "Replay" : "Discard";
      const answer = await ask(`${verbCap} ${opts.all ? "all " : ""}${matching} dead letter${matching === 1 ? "" : "s"}${safeText(what)}?`);
      if (answer !== true) {
        throw new CliError(answer === undefined ? `no answer on stdin: nothing ${v.past} (pass --yes to skip the question)` : `aborted: nothing ${v.past}`, ExitCode.aborted);
      }
    }
    const progress = progressLine(v.past);
    const stop = stopOnSignals();
    try {
      const bulk = { onProgress: (n: number, total: number) => progress.update(n, total), signal: stop.signal, ...(opts.batchSize === undefined ? {} : { batchSize: opts.batchSize }) };
      const result = await v.byQuery(admin, query, bulk);
      progress.finish();
      const interrupted = stop.signal.aborted && result.done < result.matched;
      report(opts, result.matched, result.done, `${v.past} ${result.done} of ${result.matched} dead letters${interrupted ? " (interrupted)" : ""}`);
      return interrupted ? ExitCode.aborted : ExitCode.ok;
    } finally {
      progress.finish();
      stop.dispose();
    }
  }
}

async function byIds(verb: Verb, admin: DeadLetterAdmin, ids: string[], options: BulkOptions): Promise<number> {
  const existing: string[] = [];
  const missing: string[] = [];
  for (const id of ids) ((await admin.get(id)) ? existing : missing).push(id);
  if (existing.length === 0) {
    throw new CliError(`no dead letter with entry id ${ids.map((i) => JSON.stringify(safeText(i))).join(", ")}`, ExitCode.notFound);
  }
  const moved = await verb.byIds(admin, existing);
  const notes = [
    ...(missing.length > 0 ? [`not found: ${missing.map(safeText).join(", ")}`] : []),
    // The store skips entries that went meanwhile, and (replay) entries whose group no longer exists.
    ...(moved < existing.length ? [`${existing.length - moved} not ${verb.past}: gone meanwhile${verb.name === "replay" ? ", or their group no longer exists" : ""}`] : []),
  ];
  report(options, ids.length, moved, `${verb.past} ${moved} of ${ids.length} dead letters${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`);
  return moved === 0 ? ExitCode.failed : ExitCode.ok;
}

function report(options: BulkOptions, matched: number, done: number, text: string): void {
  if (options.json) writeJson({ matched, done });
  else writeOut(text);
}
