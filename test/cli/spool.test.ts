/**
 * `missive spool status|ls|flush` on a real spool file, written by a real bus
 * whose SQLite broker refused every publish: depth and producer state, the
 * waiting messages, an offline flush that keeps ids and order and parks what
 * nobody is bound to, and a refusal while another live process holds the lease.
 */
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineMessage, missive, resolveTransport, type Bus } from "../../src/index.js";
import { openSqliteSpool } from "../../src/stores/spool/index.js";
import { switchable } from "../support/switchable-transport.js";
import { receiveAtLeast } from "../support/receive.js";
import { cli, ensureBuilt, expectCleanError, Order, tempDir, urlOf } from "./helpers.js";
import { z } from "zod";

const Unbound = defineMessage({ type: "nobody.listens", schema: z.object({ n: z.number() }) });

let tmp: ReturnType<typeof tempDir>;
let db: string;
let spoolFile: string;
const ids: string[] = [];

beforeAll(async () => {
  ensureBuilt();
  tmp = tempDir("cli-spool");
  db = join(tmp.dir, "q.db");
  spoolFile = join(tmp.dir, "producer.spool.db");
  const t = switchable((await resolveTransport(urlOf(db))).transport);
  const bus: Bus = await missive({ service: "spooler", transport: t, publisher: { spool: spoolFile, outageAfter: "200ms" } });
  await bus.declare(Order, "billing");
  t.mode = "fail";
  for (let i = 0; i < 5; i++) ids.push((await bus.publish(Order, { orderId: `o${i}`, totalCents: i })).id);
  ids.push((await bus.publish(Unbound, { n: 1 })).id);
  await bus.close({ deadline: 200 });
}, 60_000);

afterAll(() => tmp.cleanup());

describe("cli - spool", () => {
  it("spool status - depth, oldest age, and the producer's recorded broker and breaker state (text and --json)", async () => {
    const text = await cli(["spool", "status", spoolFile]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("6 waiting");
    expect(text.stdout).toContain("0 parked");
    expect(text.stdout).toMatch(/broker down, breaker (open|half-open)/);
    const json = await cli(["spool", "status", spoolFile, "--json"]);
    const doc = JSON.parse(json.stdout) as { messages: number; parked: number; oldestAgeMs: number; producer: { broker: string; pid: number } };
    expect(doc.messages).toBe(6);
    expect(doc.parked).toBe(0);
    expect(doc.oldestAgeMs).toBeGreaterThanOrEqual(0);
    expect(doc.producer.broker).toBe("down");
  });

  it("spool ls - the waiting messages in flush order", async () => {
    const r = await cli(["spool", "ls", spoolFile, "--json"]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ id: string; type: string; key: string | null }>;
    expect(rows.map((x) => x.id)).toEqual(ids);
    expect(rows[0]!.type).toBe(Order.type);
    const text = await cli(["spool", "ls", spoolFile, "--limit", "2"]);
    expect(text.stdout).toContain(ids[0]!);
    expect(text.stdout).not.toContain(ids[2]!);
  });

  it("spool flush - refused while another live process holds the lease", async () => {
    const other = openSqliteSpool({ path: spoolFile });
    try {
      expect(other.lease("someone-else", 60_000)).toBe(true);
      const r = await cli(["spool", "flush", spoolFile, "--url", urlOf(db)]);
      expect(r.code).toBe(1);
      expectCleanError(r.stderr);
      expect(r.stderr).toContain("not flushing it twice");
    } finally {
      other.releaseLease("someone-else");
      other.close();
    }
  });

  it("spool flush - sends in order under the same ids, parks the unroutable one, and the queue has them", async () => {
    const r = await cli(["spool", "flush", spoolFile, "--url", urlOf(db), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ flushed: 5, parked: 1, remaining: 0, parkedTotal: 1 });
    const parked = JSON.parse((await cli(["spool", "ls", spoolFile, "--parked", "--json"])).stdout) as Array<{ id: string; reason: string }>;
    expect(parked.map((p) => p.id)).toEqual([ids[5]]);
    expect(parked[0]!.reason).toContain("Unroutable");
    const transport = (await resolveTransport(urlOf(db))).transport;
    await transport.connect();
    const sub = await transport.subscribe({ group: "billing", topics: [Order.type], prefetch: 10, ordered: false, leaseMs: 30_000 });
    const got = await receiveAtLeast(sub, 5, 5000);
    expect(got.map((d) => d.wire.headers["ce-id"])).toEqual(ids.slice(0, 5));
    await sub.close();
    await transport.close();
  });

  it("spool - a missing file and a file that is not a spool are clean usage errors", async () => {
    const missing = await cli(["spool", "status", join(tmp.dir, "nope.db")]);
    expect(missing.code).toBe(2);
    expectCleanError(missing.stderr);
    const junk = join(tmp.dir, "junk.db");
    writeFileSync(junk, "not a database ".repeat(100));
    const bad = await cli(["spool", "status", junk]);
    expect(bad.code).toBe(2);
    expectCleanError(bad.stderr);
  });

  it("spool flush - another SQLite file is refused and left exactly as it was (no WAL switch, no tables)", async () => {
    const other = join(tmp.dir, "app.db");
    const app = new Database(other);
    app.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY)");
    app.close();
    const r = await cli(["spool", "flush", other, "--url", urlOf(db)]);
    expect(r.code).toBe(2);
    expectCleanError(r.stderr);
    const check = new Database(other, { readonly: true });
    try {
      expect(check.pragma("journal_mode", { simple: true })).toBe("delete");
      expect((check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name)).toEqual(["orders"]);
    } finally {
      check.close();
    }
  });

  it("spool status - a dead producer's broker and breaker state is marked stale with its age, not shown as the state now", async () => {
    const file = join(tmp.dir, "dead-producer.spool.db");
    openSqliteSpool({ path: file }).close();
    const gonePid = spawnSync(process.execPath, ["-e", ""]).pid;
    const raw = new Database(file);
    const record = (pid: number) =>
      raw.prepare("INSERT OR REPLACE INTO missive_spool_meta (name, value) VALUES (?, ?)").run("status", JSON.stringify({ broker: "down", breaker: "open", pid, host: hostname(), at: Date.now() - 90_000 }));
    record(gonePid);
    const dead = await cli(["spool", "status", file]);
    expect(dead.code).toBe(0);
    expect(dead.stdout).toContain(`producer (pid ${gonePid} on ${hostname()}): gone; stale record from`);
    expect(dead.stdout).toContain("(last said broker down, breaker open)");
    const deadJson = JSON.parse((await cli(["spool", "status", file, "--json"])).stdout) as { producer: { process: string; ageMs: number } };
    expect(deadJson.producer).toMatchObject({ process: "gone" });
    expect(deadJson.producer.ageMs).toBeGreaterThanOrEqual(90_000);
    record(process.pid);
    raw.close();
    const live = await cli(["spool", "status", file]);
    expect(live.stdout).not.toContain("stale");
    expect(live.stdout).toContain("broker down, breaker open");
  });

  it("spool status - terminal escapes in the recorded lease and status are shown escaped, never sent to the terminal", async () => {
    const file = join(tmp.dir, "hostile.spool.db");
    openSqliteSpool({ path: file }).close();
    const raw = new Database(file);
    const esc = String.raw`\u001b]0;owned\u0007\u001b[2J`; // JSON escapes: the parsed values hold the control characters
    const record = (name: string, value: string) => raw.prepare("INSERT OR REPLACE INTO missive_spool_meta (name, value) VALUES (?, ?)").run(name, value);
    // Escapes in the strings the CLI prints: escaped.
    record("lease", `{"owner": "o", "host": "h${esc}", "pid": 1, "expiresAt": 1}`);
    record("status", `{"broker": "down", "breaker": "open", "pid": 1, "host": "h${esc}", "at": 1, "reason": "r${esc}"}`);
    const escaped = await cli(["spool", "status", file]);
    expect(escaped.code).toBe(0);
    expect(escaped.stdout).not.toContain("\u001b");
    expect(escaped.stdout).toContain("\\x1b");
    // Escapes where a number or a state belongs: the record is not shown at all.
    record("lease", `{"owner": "o", "host": "h", "pid": "1${esc}", "expiresAt": 1}`);
    record("status", `{"broker": "down", "breaker": "${esc}", "pid": 1, "host": "h", "at": 1e300}`);
    raw.close();
    const ignored = await cli(["spool", "status", file]);
    expect(ignored.code).toBe(0);
    expect(ignored.stdout).not.toContain("\u001b");
    expect(ignored.stdout).toContain("flush lease: nobody");
    expect(ignored.stdout).toContain("producer: no status recorded");
  });
});
