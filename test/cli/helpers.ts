/**
 * Running the real `missive` binary (dist/cli/main.js) against real SQLite
 * files, and setting up their state with the library in the test process.
 */
import { execSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { z } from "zod";
import { defineMessage, missive, PermanentError, type Bus } from "../../src/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { waitFor } from "../support/wait.js";

export const BIN = join(process.cwd(), "dist", "cli", "main.js");

/** The contract the CLI tests publish and dead-letter (the same type and schema as the generated contracts module). */
export const Order = defineMessage({
  type: "cli.order.placed",
  schema: z.object({ orderId: z.string(), totalCents: z.number().int() }),
  key: (o) => o.orderId,
});

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly env?: Record<string, string>;
  /** Written to stdin, which is then closed (always closed: a question gets EOF without it). */
  readonly input?: string;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

export function ensureBuilt(): void {
  if (!existsSync(BIN)) execSync("npm run build", { stdio: "ignore" });
}

/** Start the binary; the caller waits with `finished`. */
export function start(args: readonly string[], options: CliOptions = {}): { child: ChildProcess; finished: Promise<CliResult>; stdout: () => string; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, MISSIVE_URL: "", MISSIVE_CONTRACTS: "", MISSIVE_DEBUG: "", EDITOR: "", VISUAL: "", ...options.env },
    cwd: options.cwd ?? process.cwd(),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  child.stdin!.on("error", () => undefined);
  if (options.input !== undefined) child.stdin!.write(options.input);
  child.stdin!.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
  const finished = new Promise<CliResult>((resolve) => {
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  return { child, finished, stdout: () => out, stderr: () => err };
}

export function cli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return start(args, options).finished;
}

/** A temp dir per test file; `cleanup` in afterAll. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `missive-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const urlOf = (path: string): string => `sqlite://${path}`;

export async function openBus(path: string, service = "cli-test"): Promise<Bus> {
  return missive({ service, transport: sqliteTransport({ path }) });
}

/** A database with its tables and `group` bound to the Order contract. */
export async function declared(path: string, group: string): Promise<void> {
  const bus = await openBus(path);
  await bus.declare(Order, group);
  await bus.close();
}

/**
 * `count` dead letters made the real way: published, then refused by a
 * consumer of `group` with PermanentError. Resolves with their message ids.
 */
export async function deadLetters(path: string, group: string, count: number, reason = "declined"): Promise<string[]> {
  const bus = await openBus(path);
  try {
    const consumer = bus.consume(Order, { group }, () => {
      throw new PermanentError(reason);
    });
    await consumer.ready;
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push((await bus.publish(Order, { orderId: `${group}-${i}`, totalCents: 100 + i })).id);
    const admin = bus.deadLetters();
    await waitFor(async () => (await admin.count({ group })) >= count, 15_000, `${count} dead letters in ${group}`);
    await consumer.close();
    return ids;
  } finally {
    await bus.close();
  }
}

/** A raw row in the dead-letter table, as a plain client (or an attacker's producer) could leave it. */
export function insertDeadLetter(path: string, row: { group: string; topic: string; messageId: string; key?: string | null; headers: string; body: Buffer; at?: number }): string {
  const db = new Database(path);
  try {
    db.pragma("busy_timeout = 5000");
    db.prepare("INSERT OR IGNORE INTO missive_groups (group_name, temporary, created_at) VALUES (?, 0, ?)").run(row.group, Date.now());
    const r = db
      .prepare("INSERT INTO missive_dead_letters (group_name, topic, message_id, key, headers, body, attempts, dead_lettered_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)")
      .run(row.group, row.topic, row.messageId, row.key ?? null, row.headers, row.body, row.at ?? Date.now());
    return String(r.lastInsertRowid);
  } finally {
    db.close();
  }
}

/** Read-only SQL on the file, for checking what a command left behind. */
export function query<T>(path: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

export const count = (path: string, table: string, where = "1", ...params: unknown[]): number =>
  query<{ n: number }>(path, `SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`, ...params)[0]!.n;

/** What every error line must honour: one line, prefixed, no stack. */
export function expectCleanError(stderr: string): void {
  if (!/^missive: /.test(stderr)) throw new Error(`stderr does not start with "missive: ": ${JSON.stringify(stderr)}`);
  if (/\n\s+at /.test(stderr)) throw new Error(`stderr has a stack trace: ${stderr}`);
}

/** No raw terminal control anywhere (newlines aside): ESC, BEL, NUL, C1 CSI, bidi overrides. */
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
export function expectNoRawControls(text: string): void {
  const m = RAW_CONTROL.exec(text);
  if (m) throw new Error(`raw control character U+${m[0].charCodeAt(0).toString(16).padStart(4, "0")} at ${m.index} in ${JSON.stringify(text.slice(Math.max(0, m.index - 40), m.index + 40))}`);
}
