/** `missive dlq ls|show|summary`: read the dead-letter store. */
import type { Command } from "commander";
import type { DeadLetterEntry } from "../../runtime/dead-letter-admin.js";
import type { DeadLetterSummary } from "../../transport/transport.js";
import { integerIn } from "../args.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { addFilterOptions, queryOf, type FilterOptions } from "../filters.js";
import { assertFiltersExist } from "../known-names.js";
import { bodyText, bodyView, originalHeaders } from "../message-view.js";
import { clip, formatAge, formatTime, isoOrNull, orDash, safeText, table, writeJson, writeOut } from "../output.js";
import { withDeadLetterAdmin } from "../dead-letter-session.js";

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 10_000;

export function registerDlqRead(dlq: Command, done: (code: number) => void): void {
  addFilterOptions(dlq.command("ls").description("list dead letters, oldest first"))
    .option("--limit <n>", `most entries (default ${DEFAULT_LIMIT})`, integerIn(1, MAX_LIMIT))
    .option("--after <entryId>", "the page after this entry id (printed when a page is full)")
    .option("--json", "one JSON document {entries: [...], next}")
    .action(async (options: FilterOptions & { limit?: number; after?: string; json?: boolean }, command: Command) => {
      const query = queryOf(options);
      const limit = options.limit ?? DEFAULT_LIMIT;
      done(
        await withDeadLetterAdmin(command, async (admin, transport) => {
          // One more than asked: a next page is promised only when there is one.
          const page = await admin.list({ ...query, limit: Math.min(limit + 1, MAX_LIMIT), ...(options.after === undefined ? {} : { after: options.after }) });
          const entries = page.slice(0, limit);
          if (page.length === 0) await assertFiltersExist(query, admin, transport);
          const next = page.length > limit || (limit === MAX_LIMIT && page.length === MAX_LIMIT) ? entries[entries.length - 1]!.entryId : null;
          if (options.json) {
            writeJson({ entries: entries.map(listJson), next });
            return ExitCode.ok;
          }
          if (entries.length === 0) writeOut(options.after === undefined ? "no dead letters match" : "no more dead letters");
          else writeOut(table(
            ["ENTRY", "DEAD-LETTERED AT", "GROUP", "TYPE", "ERROR", "ATTEMPTS", "MESSAGE ID", "MESSAGE"],
            entries.map((e) => [
              e.entryId, formatTime(e.deadLetteredAt), clip(e.group, 30), clip(e.topic, 40),
              clip(e.diagnostics.errorCode ?? e.diagnostics.errorClass ?? "-", 32), orDash(e.diagnostics.attempts), clip(e.messageId, 40), clip(e.diagnostics.errorMessage ?? "", 60),
            ]),
          ));
          if (next !== null) process.stderr.write(`more: repeat with --after ${next}\n`);
          return ExitCode.ok;
        }, true),
      );
    });

  dlq
    .command("show")
    .description("one dead letter whole: ids, diagnostics, original headers, body")
    .argument("<entryId>", "the entry id (from dlq ls)")
    .option("--json", "one JSON document (docs/cli.md)")
    .action(async (entryId: string, options: { json?: boolean }, command: Command) => {
      done(
        await withDeadLetterAdmin(command, async (admin) => {
          const entry = await admin.get(entryId);
          if (!entry) throw new CliError(`no dead letter with entry id ${JSON.stringify(safeText(entryId))}`, ExitCode.notFound);
          if (options.json) writeJson(showJson(entry));
          else writeOut(showText(entry));
          return ExitCode.ok;
        }, true),
      );
    });

  addFilterOptions(dlq.command("summary").description("dead letters grouped by type × error code × class, with counts and first/last seen"))
    .option("--json", "one JSON document {summary: [...]}")
    .action(async (options: FilterOptions & { json?: boolean }, command: Command) => {
      const query = queryOf(options);
      done(
        await withDeadLetterAdmin(command, async (admin, transport) => {
          const rows = await admin.summary(query);
          if (options.json) writeJson({ summary: rows.map(summaryJson) });
          else if (rows.length === 0) writeOut("no dead letters match");
          if (rows.length === 0) await assertFiltersExist(query, admin, transport);
          else writeOut(table(
            ["TYPE", "ERROR CODE", "ERROR CLASS", "COUNT", "FIRST SEEN", "LAST SEEN"],
            rows.map((r) => [clip(r.topic, 50), clip(r.errorCode ?? "-", 32), clip(r.errorClass ?? "-", 40), String(r.count), formatTime(r.firstDeadLetteredAt), formatTime(r.lastDeadLetteredAt)]),
          ));
          return ExitCode.ok;
        }, true),
      );
    });
}

/** The documented JSON shape of a listed entry (docs/cli.md). */
function listJson(e: DeadLetterEntry): Record<string, unknown> {
  const d = e.diagnostics;
  return {
    entryId: e.entryId, messageId: e.messageId, group: e.group, type: e.topic, key: e.key ?? null, deadLetteredAt: isoOrNull(e.deadLetteredAt),
    errorCode: d.errorCode ?? null, errorClass: d.errorClass ?? null, errorMessage: d.errorMessage ?? null, reason: d.reason ?? null, attempts: d.attempts ?? null,
  };
}

function showJson(e: DeadLetterEntry): Record<string, unknown> {
  const d = e.diagnostics;
  return {
    entryId: e.entryId, messageId: e.messageId, group: e.group, type: e.topic, key: e.key ?? null, deadLetteredAt: isoOrNull(e.deadLetteredAt),
    diagnostics: {
      errorClass: d.errorClass ?? null, errorCode: d.errorCode ?? null, errorMessage: d.errorMessage ?? null, errorStack: d.errorStack ?? null,
      reason: d.reason ?? null, attempts: d.attempts ?? null, firstFailureAt: isoOrNull(d.firstFailureAt), lastFailureAt: isoOrNull(d.lastFailureAt),
      source: d.source ?? null, group: d.group ?? null, host: d.host ?? null, version: d.version ?? null,
    },
    headers: originalHeaders(e.wire.headers),
    body: bodyView(e.wire.body),
  };
}

function summaryJson(r: DeadLetterSummary): Record<string, unknown> {
  return { type: r.topic, errorCode: r.errorCode ?? null, errorClass: r.errorClass ?? null, count: r.count, firstDeadLetteredAt: isoOrNull(r.firstDeadLetteredAt), lastDeadLetteredAt: isoOrNull(r.lastDeadLetteredAt) };
}

function showText(e: DeadLetterEntry): string {
  const d = e.diagnostics;
  const line = (label: string, value: string | number | undefined): string => `${label.padEnd(18)}${safeText(orDash(value))}`;
  const ago = Date.now() - e.deadLetteredAt;
  const out = [
    line("entry:", e.entryId),
    line("message id:", e.messageId),
    line("type:", e.topic),
    line("group:", e.group),
    line("key:", e.key),
    `${"dead-lettered:".padEnd(18)}${formatTime(e.deadLetteredAt)} (${formatAge(ago)} ago)`,
    "diagnostics:",
    line("  class:", d.errorClass),
    line("  code:", d.errorCode),
    line("  message:", d.errorMessage),
    line("  reason:", d.reason),
    line("  attempts:", d.attempts),
    `${"  first failure:".padEnd(18)}${formatTime(d.firstFailureAt)}`,
    `${"  last failure:".padEnd(18)}${formatTime(d.lastFailureAt)}`,
    line("  source:", d.source),
    line("  group:", d.group),
    line("  host:", d.host),
    line("  version:", d.version),
  ];
  // The stored stack had its line breaks folded into " | " to fit a header.
  if (d.errorStack) out.push("  stack:", ...d.errorStack.split(" | ").map((l) => `    ${safeText(l)}`));
  const headers = originalHeaders(e.wire.headers);
  out.push("headers:", ...Object.entries(headers).map(([n, v]) => `  ${safeText(n)}: ${safeText(v)}`));
  const body = bodyView(e.wire.body);
  out.push(`body (${body.encoding}, ${body.bytes} bytes):`, ...bodyText(body).split("\n").map((l) => `  ${safeText(l)}`));
  return out.join("\n");
}
