/**
 * `missive dlq edit <entryId>`: replace a dead letter's data, validate it
 * against its contract (from the module named by --contracts or
 * MISSIVE_CONTRACTS, unless --no-validate), and replay it with the same
 * message id. The data comes from --data, --file, or $EDITOR on a temp file
 * holding the current data. A refused edit leaves the entry in the store.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import type { MessageDefinition } from "../../contract/define-message.js";
import { decodeEnvelope } from "../../envelope/codec.js";
import { DEFAULT_LIMITS } from "../../envelope/limits.js";
import type { DeadLetterEntry } from "../../runtime/dead-letter-admin.js";
import { contractFor, contractsPathOf } from "../contracts-module.js";
import { CliError, ExitCode, usageError } from "../exit-codes.js";
import { parseJsonArgument } from "../json-arg.js";
import { safeText, writeJson, writeOut } from "../output.js";
import { withDeadLetterAdmin } from "../dead-letter-session.js";

interface EditOptions {
  readonly data?: string;
  readonly file?: string;
  readonly contracts?: string;
  readonly validate: boolean;
  readonly json?: boolean;
}

export function registerDlqEdit(dlq: Command, done: (code: number) => void): void {
  dlq
    .command("edit")
    .description("replace a dead letter's data, validate it against its contract, and replay it (same message id)")
    .argument("<entryId>", "the entry id (from dlq ls)")
    .option("--data <json>", "the new data, as JSON")
    .option("--file <path>", "read the new data (JSON) from this file")
    .option("--contracts <module>", "ES module exporting the contracts (defineMessage) to validate against; default $MISSIVE_CONTRACTS")
    .option("--no-validate", "replay without a contract check")
    .option("--json", "one JSON document {entryId, messageId, replayed}")
    .addHelpText("after", "\nWithout --data or --file, $VISUAL or $EDITOR opens a temp file holding the current data.\nA contract refusing the data: its issues are printed, nothing is replayed, exit 1.")
    .action(async (entryId: string, options: EditOptions, command: Command) => {
      if (options.data !== undefined && options.file !== undefined) throw usageError("dlq edit: give --data or --file, not both");
      done(
        await withDeadLetterAdmin(command, async (admin) => {
          const entry = await admin.get(entryId);
          if (!entry) throw new CliError(`no dead letter with entry id ${JSON.stringify(safeText(entryId))}`, ExitCode.notFound);
          const contract = options.validate ? await contractOf(entry, options.contracts) : undefined;
          const data = await newData(entry, options);
          const replayed = await admin.edit(entry.entryId, data, { validate: options.validate, ...(contract ? { contract } : {}) });
          if (!replayed) throw new CliError(`dead letter ${safeText(entry.entryId)} is gone (replayed or discarded meanwhile)`, ExitCode.notFound);
          if (options.json) writeJson({ entryId: entry.entryId, messageId: entry.messageId, replayed: true });
          else writeOut(`replayed dead letter ${safeText(entry.entryId)} with new data (message id ${safeText(entry.messageId)}${options.validate ? "" : ", not validated"})`);
          return ExitCode.ok;
        }),
      );
    });
}

async function contractOf(entry: DeadLetterEntry, option: string | undefined): Promise<MessageDefinition> {
  const path = contractsPathOf(option);
  if (path === undefined) {
    throw usageError(`no contract to validate the edited ${safeText(entry.topic)} against: pass --contracts <module> (or set MISSIVE_CONTRACTS), or --no-validate`);
  }
  return contractFor(path, entry.topic);
}

async function newData(entry: DeadLetterEntry, options: EditOptions): Promise<unknown> {
  if (options.data !== undefined) return parseJsonArgument(options.data, "--data");
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, "utf8");
    } catch (err) {
      throw usageError(`--file ${JSON.stringify(safeText(options.file))} cannot be read: ${safeText((err as NodeJS.ErrnoException).code ?? String(err))}`);
    }
    return parseJsonArgument(text, `--file ${safeText(options.file)}`);
  }
  return editInEditor(entry);
}

function currentData(entry: DeadLetterEntry): string {
  const decoded = decodeEnvelope(entry.wire, DEFAULT_LIMITS);
  if (decoded.ok) return `${JSON.stringify(decoded.envelope.data, null, 2)}\n`;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(entry.wire.body);
  } catch {
    throw usageError(`dead letter ${safeText(entry.entryId)} has a binary body that does not decode: pass the new data with --data or --file`);
  }
}

function editInEditor(entry: DeadLetterEntry): unknown {
  const editor = process.env["VISUAL"] || process.env["EDITOR"];
  if (!editor) throw usageError("no --data, no --file and no $EDITOR (or $VISUAL) to edit the data in");
  const before = currentData(entry);
  const dir = mkdtempSync(join(tmpdir(), "missive-edit-"));
  const file = join(dir, `dead-letter-${entry.entryId.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 40)}.json`);
  let keep = false;
  try {
    writeFileSync(file, before, { mode: 0o600 });
    // Through the shell, as git does: $EDITOR may carry arguments ("code --wait").
    const result = spawnSync("/bin/sh", ["-c", `${editor} "$1"`, "missive-edit", file], { stdio: "inherit" });
    if (result.error || result.status !== 0) {
      throw new CliError(`the editor ${result.error ? `could not start (${safeText(result.error.message)})` : `exited with status ${String(result.status ?? result.signal)}`}: nothing replayed`, ExitCode.aborted);
    }
    const after = readFileSync(file, "utf8");
    if (after.trim() === before.trim()) throw new CliError("the data was not changed: nothing replayed", ExitCode.aborted);
    try {
      return parseJsonArgument(after, "the edited data");
    } catch (err) {
      keep = true;
      throw usageError(`${(err as Error).message}; nothing replayed, your edit is kept in ${file}`);
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}
