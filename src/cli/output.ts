/**
 * Everything the CLI writes goes through here: text that came from a message
 * (bodies, headers, error messages, even group names) is escaped so a hostile
 * producer cannot drive the operator's terminal, JSON is one document per
 * write with the same escaping, and tables are padded plain text.
 */

/**
 * C0 controls, DEL, C1 controls (0x9b is CSI on some terminals), line and
 * paragraph separators, and the bidi overrides/isolates that reorder text.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
// Outside JSON string syntax these never occur, so escaping them in JSON text changes nothing a parser sees.
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

const hex4 = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** Text safe for a terminal: every control or reordering character written as an escape (`\n`, `\x1b`, `\u202e`). */
export function safeText(value: string): string {
  return value.replace(UNSAFE, (c) => NAMED[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}` : hex4(c)));
}

/** `safeText`, cut to `max` characters (code points) with an ellipsis. */
export function clip(value: string, max: number): string {
  const safe = safeText(value);
  const chars = Array.from(safe);
  return chars.length <= max ? safe : `${chars.slice(0, Math.max(0, max - 1)).join("")}…`;
}

/** JSON text with the characters a terminal could act on escaped too (still the same JSON to a parser). */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, hex4);
}

export function writeOut(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

export function writeErr(text: string): void {
  process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
}

export function writeJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`);
}

/** A plain table: a header row, columns padded to their widest cell, every cell made safe. */
export function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const cells = [headers, ...rows].map((r) => r.map(safeText));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => Array.from(r[i] ?? "").length)));
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + " ".repeat(widths[i]! - Array.from(c).length))).join("  ").trimEnd())
    .join("\n");
}

/** An age or duration for people: `850ms`, `3.2s`, `42s`, `5m`, `2h13m`, `3d4h`. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  if (ms < 60_000) return `${Math.floor(ms / 1000)}s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
}

/** Unix ms as ISO 8601 to the second, for tables (`2025-01-02T03:04:05Z`). */
export function formatTime(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "-";
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 19)}Z`;
}

/** Unix ms as a full ISO 8601 string for JSON, or null. */
export function isoOrNull(ms: number | undefined): string | null {
  return ms === undefined || !Number.isFinite(ms) ? null : new Date(ms).toISOString();
}

export const orDash = (value: string | number | undefined | null): string => (value === undefined || value === null || value === "" ? "-" : String(value));
