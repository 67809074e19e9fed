/**
 * Redrive without a browser, on the memory broker's dead-letter store: a
 * replay is paced by its rate (a token bucket), reports progress as it
 * goes, fixes its end when it starts, and every action lands in the audit
 * trail and its JSONL file. And the dead-letter alerts' arithmetic.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { AlertWatch } from "../../src/dashboard/alerts.js";
import { AuditTrail } from "../../src/dashboard/audit.js";
import { failureGroups } from "../../src/dashboard/failure-groups.js";
import { selectorOf } from "../../src/dashboard/selection.js";
import { Redriver, type Progress } from "../../src/dashboard/redrive.js";
import { defineMessage, missive, PermanentError, type Bus } from "../../src/index.js";
import type { QueueStats } from "../../src/transport/transport.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { recordingLogger } from "../support/recording-logger.js";
import { waitFor } from "../support/wait.js";

const Job = defineMessage({ type: "dashboard.job", schema: z.object({ n: z.number() }) });

let bus: Bus;
let dir: string;
let broken = true;
const handled: number[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "missive-dashboard-redrive-"));
  broken = true;
  handled.length = 0;
  bus = await missive({ service: "redrive", transport: createMemoryBroker().transport() });
  await bus.consume(Job, { group: "workers", concurrency: 8 }, (job) => {
    if (broken) throw new PermanentError(`job ${job.n} failed`);
    handled.push(job.n);
  }).ready;
});
afterEach(async () => {
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
});

async function deadLetter(count: number): Promise<void> {
  for (let n = 0; n < count; n++) await bus.publish(Job, { n });
  await waitFor(async () => (await bus.deadLetters().count()) === count, 10_000, `${count} dead letters`);
}

describe("dashboard - redrive", () => {
  it("dashboard - redrive: a replay is paced by its rate (20/s, burst 5: 30 entries take at least 1.25 s), reports progress, and is audited in memory and in the file", async () => {
    await deadLetter(30);
    broken = false;
    const file = join(dir, "audit.jsonl");
    const audit = new AuditTrail(file, recordingLogger());
    const redriver = new Redriver(bus.deadLetters(), audit, recordingLogger(), { perSecond: 20, burst: 5 });
    const progress: Progress[] = [];
    redriver.onProgress((p) => progress.push(p));

    const dry = await redriver.dryRun("replay", { filter: { group: "workers" } }, "alice");
    expect(dry).toEqual({ action: "replay", matched: 30, moves: [{ group: "workers", type: "dashboard.job", count: 30 }] });
    expect(await bus.deadLetters().count()).toBe(30);

    const started = performance.now();
    const { total } = await redriver.start("replay", { filter: { group: "workers" } }, "alice");
    expect(total).toBe(30);
    await waitFor(() => progress.some((p) => p.outcome !== undefined), 10_000, "the replay to end");
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(1200);
    const last = progress[progress.length - 1]!;
    expect(last).toMatchObject({ action: "replay", done: 30, total: 30, outcome: "completed" });
    // Progress in steps of at most a bucketful, never backwards.
    const dones = progress.map((p) => p.done);
    expect(dones).toEqual([...dones].sort((a, b) => a - b));
    expect(Math.max(...dones.slice(1).map((d, i) => d - dones[i]!))).toBeLessThanOrEqual(5);
    await waitFor(() => handled.length === 30, 10_000, "30 handled");
    expect(await bus.deadLetters().count()).toBe(0);

    // The record is appended once the run has ended; the file may lag the last progress event by a write.
    await waitFor(() => readFileSync(file, "utf8").trim().split("\n").length === 2, 5_000, "both audit lines in the file");
    const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l["who"], l["action"], l["matched"], l["done"], l["outcome"]])).toEqual([
      ["alice", "dry-run-replay", 30, 0, "completed"],
      ["alice", "replay", 30, 30, "completed"],
    ]);
    expect(audit.list().map((r) => r.action)).toEqual(["replay", "dry-run-replay"]);
  });

  it("dashboard - redrive: a discard by entry ids acts on those only; ids already gone are not counted", async () => {
    await deadLetter(4);
    const entries = await bus.deadLetters().list();
    const audit = new AuditTrail(undefined, recordingLogger());
    const redriver = new Redriver(bus.deadLetters(), audit, recordingLogger(), { perSecond: 100 });
    const ids = [entries[0]!.entryId, entries[2]!.entryId, "no-such-entry"];
    expect(await redriver.dryRun("discard", { ids }, "local")).toMatchObject({ matched: 2 });
    const ended = new Promise<Progress>((resolve) => redriver.onProgress((p) => p.outcome !== undefined && resolve(p)));
    expect(await redriver.start("discard", { ids }, "local")).toMatchObject({ total: 2 });
    expect(await ended).toMatchObject({ done: 2, total: 2, outcome: "completed" });
    expect((await bus.deadLetters().list()).map((e) => e.entryId)).toEqual([entries[1]!.entryId, entries[3]!.entryId]);
    expect(handled).toEqual([]);
  });

  it("dashboard - failure groups: counts per normalised signature, with how many fell in the last 5 minutes and the last hour", async () => {
    await deadLetter(3);
    const admin = bus.deadLetters();
    const at = (await admin.list()).map((e) => e.deadLetteredAt);
    const newest = Math.max(...at);
    const oldest = Math.min(...at);
    const groupsAt = async (now: number) => (await failureGroups(admin, selectorOf(new URLSearchParams()), undefined, now)).groups;
    const [now] = await groupsAt(newest);
    expect(now).toMatchObject({ type: "dashboard.job", pattern: "job <num> failed", count: 3, firstSeen: oldest, lastSeen: newest, groups: ["workers"], recent: { "5m": 3, "1h": 3 } });
    expect((await groupsAt(oldest + 30 * 60_000))[0]!.recent).toEqual({ "5m": 0, "1h": 3 });
    expect((await groupsAt(newest + 2 * 60 * 60_000))[0]!.recent).toEqual({ "5m": 0, "1h": 0 });
    const budgeted = await failureGroups(admin, selectorOf(new URLSearchParams()), 2);
    expect(budgeted).toMatchObject({ scanned: 2, truncated: true });
    expect(budgeted.groups[0]!.count).toBe(2);
  });

  it("dashboard - audit: a file that cannot be appended to is logged at error level; the record stays in memory", async () => {
    const logger = recordingLogger();
    const audit = new AuditTrail(join(dir, "no-such-dir", "audit.jsonl"), logger);
    await audit.record({ at: new Date().toISOString(), who: "local", action: "discard", target: { ids: ["1"] }, matched: 1, done: 1, outcome: "completed" });
    expect(audit.list()).toHaveLength(1);
    expect(logger.at("error", "appending to the audit file failed")).toHaveLength(1);
  });
});

describe("dashboard - alerts", () => {
  const stats = (...deadLetters: number[]): QueueStats[] =>
    deadLetters.map((n, i) => ({ group: `g${i}`, topics: [], depth: 0, ready: 0, inFlight: 0, delayed: 0, oldestAgeMs: undefined, deadLetters: n, consumers: 0, temporary: false }));

  it("dashboard - alerts: a total threshold over every group, and a rise within 5 minutes measured from the window's lowest point", () => {
    const watch = new AlertWatch({ deadLetters: 100, deadLettersPer5m: 50 });
    const t0 = 1_000_000;
    expect(watch.evaluate(stats(10, 5), t0)).toEqual([]);
    expect(watch.evaluate(stats(40, 5), t0 + 60_000)).toEqual([]);
    expect(watch.evaluate(stats(60, 5), t0 + 120_000).map((a) => a.message)).toEqual(["50 more dead letters within 5 minutes (alert at 50)"]);
    expect(watch.evaluate(stats(90, 20), t0 + 180_000).map((a) => a.kind)).toEqual(["dead-letters", "dead-letter-rate"]);
    // Replayed to zero, then a burst: measured from the low point, not from before the replay.
    expect(watch.evaluate(stats(0, 0), t0 + 200_000)).toEqual([]);
    expect(watch.evaluate(stats(55, 0), t0 + 230_000).map((a) => a.value)).toEqual([55]);
    // Ten minutes on, the burst has left the window.
    expect(watch.evaluate(stats(55, 0), t0 + 830_000)).toEqual([]);
    expect(watch.evaluate(undefined, t0 + 840_000)).toEqual([]);
    expect(new AlertWatch().evaluate(stats(1_000_000), t0)).toEqual([]);
    expect(() => new AlertWatch({ deadLetters: 0 })).toThrow(/at least 1/);
  });
});
