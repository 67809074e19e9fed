/** `missive queues` against a real SQLite file: table, JSON, temporary groups, --watch until SIGINT/SIGTERM. */
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/wait.js";
import { cli, deadLetters, ensureBuilt, expectCleanError, insertDeadLetter, openBus, Order, start, tempDir, urlOf } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
let path: string;

interface GroupJson { group: string; topics: string[]; depth: number; ready: number; inFlight: number; delayed: number; oldestAgeMs: number | null; deadLetters: number | null; consumers: number | null; temporary: boolean }

beforeAll(async () => {
  ensureBuilt();
  tmp = tempDir("cli-queues");
  path = join(tmp.dir, "q.db");
  await deadLetters(path, "refunds", 2);
  const bus = await openBus(path);
  await bus.declare(Order, "billing");
  for (let i = 0; i < 3; i++) await bus.publish(Order, { orderId: `b${i}`, totalCents: i });
  await bus.publish(Order, { orderId: "later", totalCents: 1 }, { delay: "60s" });
  await bus.close();
  // A group with nothing queued and nothing bound: only a dead letter.
  insertDeadLetter(path, { group: "archive", topic: "old.type", messageId: "m-archive", headers: "{}", body: Buffer.from("{}") });
  // A temporary group another process left (tail, request-reply): hidden unless --all.
  const db = new Database(path);
  db.prepare("INSERT INTO missive_groups (group_name, temporary, created_at) VALUES ('missive.tail.left', 1, 0)").run();
  db.prepare("INSERT INTO missive_bindings (topic, group_name, temporary, created_at) VALUES (?, 'missive.tail.left', 1, 0)").run(Order.type);
  db.close();
});
afterAll(() => tmp.cleanup());

describe("cli - queues", () => {
  it("cli - queues: a table per group with depth, ready, delayed, oldest age, dead letters, consumers", async () => {
    const r = await cli(["queues", "--url", urlOf(path)]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^GROUP\s+TOPICS\s+DEPTH\s+READY\s+IN FLIGHT\s+DELAYED\s+OLDEST\s+DEAD\s+CONSUMERS\s+STATE$/);
    const billing = lines.find((l) => l.startsWith("billing"))!.split(/\s{2,}/);
    expect(billing.slice(0, 6)).toEqual(["billing", Order.type, "4", "3", "0", "1"]);
    expect(billing[6]).toMatch(/^\d+(ms|\.\ds|s)$/);
    expect(billing.slice(7)).toEqual(["0", "0", "STALLED: 3 ready messages and no consumer running"]);
    const refunds = lines.find((l) => l.startsWith("refunds"))!.split(/\s{2,}/);
    expect(refunds.slice(0, 6)).toEqual(["refunds", Order.type, "4", "3", "0", "1"]);
    expect(refunds.slice(7)).toEqual(["2", "0", "STALLED: 3 ready messages and no consumer running"]);
    const archive = lines.find((l) => l.startsWith("archive"))!.split(/\s{2,}/);
    expect(archive).toEqual(["archive", "-", "0", "0", "0", "0", "-", "1", "0", "none"]);
    expect(r.stdout).not.toContain("missive.tail.left");
  });

  it("cli - queues --json --all: the documented shape, temporary groups included", async () => {
    const r = await cli(["queues", "--json", "--all"], { env: { MISSIVE_URL: urlOf(path) } });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { at: string; groups: GroupJson[] };
    expect(Number.isFinite(Date.parse(doc.at))).toBe(true);
    expect(doc.groups.map((g) => g.group)).toEqual(["archive", "billing", "missive.tail.left", "refunds"]);
    expect(doc.groups[0]).toMatchObject({ group: "archive", topics: [], depth: 0, oldestAgeMs: null, deadLetters: 1 });
    doc.groups.shift();
    expect(doc.groups[0]).toMatchObject({
      group: "billing", topics: [Order.type], depth: 4, ready: 3, inFlight: 0, delayed: 1, deadLetters: 0, consumers: 0,
      consumerState: "stalled", consumerStateWhy: "3 ready messages and no consumer running", temporary: false,
    });
    expect(doc.groups[0]!.oldestAgeMs).toBeGreaterThanOrEqual(0);
    expect(doc.groups[1]).toMatchObject({ temporary: true, depth: 0, oldestAgeMs: null });
    expect(doc.groups[2]).toMatchObject({ group: "refunds", depth: 4, deadLetters: 2 });
    const human = await cli(["queues", "--all", "--url", urlOf(path)]);
    expect(human.stdout).toContain("missive.tail.left (temporary)");
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`cli - queues --watch redraws until ${signal}, then exits 0`, async () => {
      const run = start(["queues", "--watch", "0.2", "--json", "--url", urlOf(path)]);
      await waitFor(() => run.stdout().split("\n").filter(Boolean).length >= 2, 15_000, "two refreshes");
      run.child.kill(signal);
      const r = await run.finished;
      expect(r.signal).toBeNull();
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      const docs = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { groups: GroupJson[] });
      expect(docs.length).toBeGreaterThanOrEqual(2);
      for (const d of docs) expect(d.groups.find((g) => g.group === "billing")!.depth).toBe(4);
    });
  }

  it("cli - queues --watch without JSON prints a timestamped table per refresh; a bad interval is a usage error", async () => {
    const run = start(["queues", "--watch", "0.2", "--url", urlOf(path)]);
    await waitFor(() => (run.stdout().match(/^GROUP/gm) ?? []).length >= 2, 15_000, "two tables");
    run.child.kill("SIGINT");
    expect((await run.finished).code).toBe(0);
    for (const bad of ["0", "abc", "-1"]) {
      const r = await cli(["queues", "--url", urlOf(path), `--watch=${bad}`]);
      expect(r.code, bad).toBe(2);
      expectCleanError(r.stderr);
    }
  });

  it("cli - queues on an empty database says so", async () => {
    const empty = join(tmp.dir, "empty.db");
    new Database(empty).close();
    const bus = await openBus(empty);
    await bus.close();
    const r = await cli(["queues", "--url", urlOf(empty)]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("no consumer groups");
    expect(JSON.parse((await cli(["queues", "--json", "--url", urlOf(empty)])).stdout)).toMatchObject({ groups: [] });
  });
});
