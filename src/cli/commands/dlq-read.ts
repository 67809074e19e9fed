/** `missive dlq ls|show|summary`: read the dead-letter store. */
import type { Command } from "commander";
import type { DeadLetterEntry } from "../../runtime/dead-letter-admin.js";
import type { DeadLetterSummary } from "../../transport/transport.js";
import { integerIn } from "../args.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { addFilterOptions, queryOf, type FilterOptions } from "../filters.js";
import { assertFiltersExist } from "../known-names.js";
import { bodyText, bodyView, originalHeaders } from "../message-view.js";
import { BODY_CHARS, cut, HEADERS, leftOut, STACK_LINES, VALUE_CHARS } from "../show-bounds.js";
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
          if (page.length === 0) await assertFiltersExist(query, admin, transport);
          const entries = page.slice(0, limit);
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
    .option("--full", `print the whole body, every header and the whole stack (by default the body is cut at ${BODY_CHARS} characters, at most ${HEADERS} headers)`)
    .option("--json", "one JSON document (docs/cli.md), always whole")
    .action(async (entryId: string, options: { json?: boolean; full?: boolean }, command: Command) => {
      done(
        await withDeadLetterAdmin(command, async (admin) => {
          const entry = await admin.get(entryId);
          if (!entry) throw new CliError(`no dead letter with entry id ${JSON.stringify(safeText(entryId))}`, ExitCode.notFound);
          if (options.json) writeJson(showJson(entry));
          else writeOut(showText(entry, options.full === true));
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
          if (rows.length === 0) await assertFiltersExist(query, admin, transport);
          if (options.json) writeJson({ summary: rows.map(summaryJson) });
          else if (rows.length === 0) writeOut("no dead letters match");
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

function showText(e: DeadLetterEntry, full: boolean): string {
  const d = e.diagnostics;
  // A value past its bound ends with how much was left out (a diagnostic can be as long as a header).
  const bounded = (value: string): string => {
    if (full) return safeText(value);
    const c = cut(value, VALUE_CHARS);
    return c.left === 0 ? safeText(value) : `${safeText(c.text)}… (${c.left} more characters; --full shows all)`;
  };
  const line = (label: string, value: string | number | undefined): string => `${label.padEnd(18)}${bounded(orDash(value))}`;
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
  if (d.errorStack) {
    const stack = d.errorStack.split(" | ");
    const shown = full ? stack : stack.slice(0, STACK_LINES);
    out.push("  stack:", ...shown.map((l) => `    ${bounded(l)}`));
    if (shown.length < stack.length) out.push(leftOut(`${stack.length - shown.length} more stack lines`));
  }
  const headers = Object.entries(originalHeaders(e.wire.headers));
  const shownHeaders = full ? headers : headers.slice(0, HEADERS);
  out.push("headers:", ...shownHeaders.map(([n, v]) => `  ${bounded(n)}: ${bounded(v)}`));
  if (shownHeaders.length < headers.length) out.push(leftOut(`${headers.length - shownHeaders.length} of ${headers.length} headers`));
  const body = bodyView(e.wire.body);
  const text = bodyText(body);
  const shownBody = full ? { text, left: 0 } : cut(text, BODY_CHARS);
  out.push(`body (${body.encoding}, ${body.bytes} bytes):`, ...shownBody.text.split("\n").map((l) => `  ${safeText(l)}`));
  if (shownBody.left > 0) out.push(leftOut(`${shownBody.left} of ${text.length} characters of the body`));
  return out.join("\n");
}
