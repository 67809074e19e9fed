/**
 * `npm run bench` still runs, end to end, with tiny counts: the orchestrator,
 * every case's child process, the table and the JSON file (written to a temp
 * path, never over bench/results/latest.json). Under CI the BullMQ peer must
 * run too (CI has Redis on 127.0.0.1:6379), and so must the RabbitMQ rows,
 * the outbox and spool ones included (RabbitMQ on 127.0.0.1:5672), the NATS
 * rows (nats-server on 127.0.0.1:4222) and the PostgreSQL rows, pg-boss and
 * BullMQ's PostgreSQL backend included (127.0.0.1:5432); elsewhere they may
 * be skipped, and say so.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EXPECTED_ROWS, matchesExpected } from "../../bench/lib/expected-rows.js";

const dir = mkdtempSync(join(tmpdir(), "missive-bench-smoke-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REQUIRED = ["transport", "case", "msgs_per_s", "raw_msgs_per_s", "ratio", "p99_ms", "rss_mb"] as const;

function runBench(out: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ["--import", "tsx", join("bench", "run.ts"), "--quick", "--messages", "500", "--backlog", "1000", "--rate", "500", "--seconds", "1", "--out", out];
  return new Promise((resolve) => {
    // Generous: on a loaded 2-core machine the quick run alone can take a few minutes.
    execFile(process.execPath, args, { timeout: 720_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The spool rows of one transport (bench/spool-run.ts), in order. */
function spoolRows(transport: string, healthy: readonly string[]): unknown[] {
  return [
    ...healthy.map((v) => expect.stringMatching(new RegExp(`^${transport}: publish, spool enabled vs disabled, broker healthy \\(${v},`))),
    expect.stringMatching(new RegExp(`^${transport}: spool while the broker is unreachable \\(unkeyed`)),
    expect.stringMatching(new RegExp(`^${transport}: spool while the broker is unreachable \\(256 keys`)),
    expect.stringMatching(new RegExp(`^${transport}: flush after an outage \\(unkeyed`)),
    expect.stringMatching(new RegExp(`^${transport}: flush after an outage \\(256 keys`)),
  ];
}

/** Every number in `value`, with the path that leads to it. */
function numbers(value: unknown, path = ""): Array<[string, number]> {
  if (typeof value === "number") return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => numbers(v, `${path}[${i}]`));
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => numbers(v, path ? `${path}.${k}` : k));
  return [];
}

describe("bench", () => {
  it("bench - a quick run prints its table and writes finite, positive figures for every case", async () => {
    const out = join(dir, "latest.json");
    const r = await runBench(out);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("missive/raw");
    const results = JSON.parse(readFileSync(out, "utf8")) as { run: Record<string, unknown>; rows: Array<Record<string, unknown>> };
    // The run is recorded with its rows: docs/performance.md prints it.
    expect(results.run).toMatchObject({ date: expect.any(String), machine: { cores: expect.any(Number) }, args: expect.arrayContaining(["--quick"]) });
    const rows = results.rows;
    expect(Array.isArray(rows)).toBe(true);
    // Every row is one docs/performance.md knows a full run writes (bench/lib/expected-rows.ts).
    for (const row of rows) {
      const known = EXPECTED_ROWS.some((e) => matchesExpected({ transport: String(row["transport"]), case: String(row["case"]) }, e));
      expect(known, `${String(row["transport"])}: ${String(row["case"])} is in bench/lib/expected-rows.ts`).toBe(true);
    }
    const rabbitSkipped = r.stdout.includes("RabbitMQ cases skipped");
    const rabbitOutboxSkipped = r.stdout.includes("RabbitMQ outbox cases skipped");
    const rabbitSpoolSkipped = r.stdout.includes("RabbitMQ spool cases skipped");
    const natsSkipped = r.stdout.includes("NATS cases skipped");
    const postgresSkipped = r.stdout.includes("PostgreSQL cases skipped");
    const redisSkipped = r.stdout.includes("Redis cases skipped");
    const redisDurableSkipped = redisSkipped || r.stdout.includes("Redis durable-server rows skipped");
    const redisServerRows = (server: string): unknown[] => [
      expect.stringMatching(new RegExp(`^redis: publish \\(${server}\\), \\d+ concurrent publishers`)),
      expect.stringMatching(new RegExp(`^redis: consume\\+ack \\(${server}\\)`)),
      expect.stringMatching(new RegExp(`^redis: publish→handler latency \\(${server}\\)`)),
    ];
    expect(rows.map((row) => `${String(row["transport"])}: ${String(row["case"])}`)).toEqual([
      expect.stringMatching(/^sqlite: publish, 64 concurrent publishers/),
      expect.stringMatching(/^sqlite: consume\+ack/),
      expect.stringMatching(/^sqlite: .*latency/),
      expect.stringMatching(/^sqlite: drain a 1000-message backlog/),
      expect.stringMatching(/^sqlite: outbox: write \+ outbox\.add/),
      ...(rabbitOutboxSkipped ? [] : [expect.stringMatching(/^rabbitmq: outbox: write \+ outbox\.add/)]),
      ...(rabbitSkipped ? [] : [
        expect.stringMatching(/^rabbitmq: publish \(classic queue\)/),
        expect.stringMatching(/^rabbitmq: publish \(quorum queue\)/),
        expect.stringMatching(/^rabbitmq: consume\+ack \(classic queue\)/),
        expect.stringMatching(/^rabbitmq: consume\+ack \(quorum queue\)/),
        expect.stringMatching(/^rabbitmq: drain a 1000-message backlog/),
      ]),
      ...spoolRows("sqlite", ["unkeyed", "256 keys"]),
      ...(rabbitSpoolSkipped ? [] : spoolRows("rabbitmq", ["unkeyed"])),
      ...(natsSkipped ? [] : [
        expect.stringMatching(/^nats: publish, PubAcks/),
        expect.stringMatching(/^nats: consume\+ack, durable pull consumer/),
        expect.stringMatching(/^nats: .*latency/),
        expect.stringMatching(/^nats: drain a 1000-message backlog/),
      ]),
      ...(postgresSkipped ? [] : [
        expect.stringMatching(/^postgres: publish, 64 concurrent publishers/),
        expect.stringMatching(/^postgres: consume\+ack/),
        expect.stringMatching(/^postgres: .*latency/),
        expect.stringMatching(/^postgres: drain a 1000-message backlog/),
        expect.stringMatching(/^postgres: transactional publish: order INSERT \+ publishIn/),
        expect.stringMatching(/^postgres: publish with NOTIFY on vs off, 1 concurrent/),
        expect.stringMatching(/^postgres: publish with NOTIFY on vs off, 16 concurrent/),
        expect.stringMatching(/^postgres: publish with NOTIFY on vs off, 32 concurrent/),
        expect.stringMatching(/^postgres: churn: 5000 messages through one queue/),
      ]),
      ...(redisSkipped ? [] : redisServerRows("shared server")),
      ...(redisDurableSkipped ? [] : redisServerRows("own server, appendfsync always")),
      ...(redisSkipped ? [] : [expect.stringMatching(/^redis: drain a 1000-message backlog/)]),
      expect.stringMatching(/^sqlite: dashboard, 5000-entry dead-letter store/),
    ]);
    for (const row of rows) {
      for (const field of REQUIRED) expect(row, `${String(row["case"])} has ${field}`).toHaveProperty(field);
      expect(row["msgs_per_s"]).toEqual(expect.any(Number));
      expect(row["rss_mb"]).toEqual(expect.any(Number));
      for (const [path, n] of numbers(row)) {
        expect(Number.isFinite(n), `${String(row["case"])}: ${path} = ${n}`).toBe(true);
        // RSS and heap growth through the drain may be zero or negative; a healthy broker leaves no spooled receipts,
        // and the churn's counts (dead rows, vacuum runs) and its settle time (none with --quick) may be zero;
        // every other figure is a rate, a time or a size.
        if (path.includes("growth")) continue;
        if (/spooled_receipts|dead_rows|vacuum_runs|settle_s/.test(path)) expect(n, `${String(row["case"])}: ${path}`).toBeGreaterThanOrEqual(0);
        else expect(n, `${String(row["case"])}: ${path}`).toBeGreaterThan(0);
      }
    }
    const [publish, consume, latency] = rows;
    expect(publish!["ratio"]).toEqual(expect.any(Number));
    expect(consume!["ratio"]).toEqual(expect.any(Number));
    expect(latency!["p99_ms"]).toEqual(expect.any(Number));
    for (const outbox of rows.filter((x) => String(x["case"]).startsWith("outbox"))) {
      expect(outbox["ratio"]).toEqual(expect.any(Number));
      expect(outbox["p99_ms"]).toEqual(expect.any(Number));
    }
    if (process.env["CI"]) {
      // Redis is part of CI: the peer must have run, not been skipped.
      expect(r.stdout).not.toContain("peer cases skipped");
      expect(consume!["peer_msgs_per_s"]).toEqual(expect.any(Number));
      expect(consume!["peer_ratio"]).toEqual(expect.any(Number));
      expect(latency!["peer_p99_ms"]).toEqual(expect.any(Number));
      expect(rabbitSkipped).toBe(false);
      expect(rabbitOutboxSkipped).toBe(false);
      expect(rabbitSpoolSkipped).toBe(false);
      expect(natsSkipped).toBe(false);
      expect(postgresSkipped).toBe(false);
      expect(redisDurableSkipped).toBe(false);
    }
    for (const row of rows.filter((x) => String(x["case"]).startsWith("publish, spool enabled vs disabled"))) {
      expect(row["ratio"]).toEqual(expect.any(Number));
    }
    for (const row of rows.filter((x) => String(x["case"]).startsWith("flush after an outage"))) {
      expect((row["notes"] as Record<string, unknown>)["all_arrived"], String(row["case"])).toBe(true);
    }
    for (const row of rows.filter((x) => x["transport"] === "rabbitmq" && String(x["case"]).startsWith("publish ("))) {
      expect(row["ratio"]).toEqual(expect.any(Number));
      if (!r.stdout.includes("rascal peer skipped")) expect(row["peer_ratio"]).toEqual(expect.any(Number));
    }
    // NATS and PostgreSQL: missive against the raw client in the same round; the latency rows carry the other side's
    // percentiles (the raw client's on NATS, pg-boss's on PostgreSQL).
    for (const row of rows.filter((x) => x["transport"] === "nats" || x["transport"] === "postgres")) {
      if (/^(publish,|consume|transactional)/.test(String(row["case"]))) expect(row["ratio"], String(row["case"])).toEqual(expect.any(Number));
    }
    const natsLatency = rows.find((x) => x["transport"] === "nats" && String(x["case"]).includes("latency"));
    if (natsLatency) expect((natsLatency["notes"] as Record<string, unknown>)["raw_p99_ms"]).toEqual(expect.any(Number));
    // Redis: each server's latency row carries raw ioredis's percentiles from the same run (issue 17's p99 target).
    for (const row of rows.filter((x) => x["transport"] === "redis" && String(x["case"]).includes("latency"))) {
      expect((row["notes"] as Record<string, unknown>)["raw_p99_ms"], String(row["case"])).toEqual(expect.any(Number));
      expect((row["notes"] as Record<string, unknown>)["p99_within_1ms_of_raw"], String(row["case"])).toEqual(expect.any(Boolean));
    }
    // The dashboard's row: every entry of the store counted in its failure groups, a page and the slowest read timed.
    const dashboard = rows.find((x) => String(x["case"]).startsWith("dashboard,"))!;
    expect((dashboard["notes"] as Record<string, unknown>)["entries_counted"]).toBe(5_000);
    expect(dashboard["p50_ms"]).toEqual(expect.any(Number));
    expect(dashboard["p99_ms"]).toEqual(expect.any(Number));
    // PostgreSQL's two peers: pg-boss in the row's peer fields, BullMQ's PostgreSQL backend in its more_peers as bullmq-pg.
    if (!postgresSkipped && !r.stdout.includes("pg-boss and BullMQ (PostgreSQL) peers skipped")) {
      const bullmqPg = (row: Record<string, unknown>): Record<string, unknown> | undefined =>
        (row["more_peers"] as Array<Record<string, unknown>> | undefined)?.find((x) => x["name"] === "bullmq-pg");
      for (const row of rows.filter((x) => x["transport"] === "postgres" && /^(publish,|consume)/.test(String(x["case"])))) {
        expect(row["peer_ratio"], String(row["case"])).toEqual(expect.any(Number));
        expect(bullmqPg(row)?.["peer_msgs_per_s"], String(row["case"])).toEqual(expect.any(Number));
        expect(bullmqPg(row)?.["peer_ratio"], String(row["case"])).toEqual(expect.any(Number));
      }
      const latency = rows.find((x) => x["transport"] === "postgres" && String(x["case"]).includes("latency"))!;
      expect(latency["peer_p99_ms"]).toEqual(expect.any(Number));
      expect(bullmqPg(latency)?.["peer_p99_ms"]).toEqual(expect.any(Number));
      expect(r.stdout).toContain("missive/bullmq-pg");
    }
  }, 750_000);
});
