/**
 * A row measured against a second peer (PostgreSQL: BullMQ's PostgreSQL backend beside pg-boss): its figures
 * land in `more_peers`, `runs` and `notes` under its name, ratios taken within each round, and the printed table
 * gains its columns only when some row has it.
 */
import { describe, expect, it } from "vitest";
import type { ThroughputResult } from "../../bench/cases/sqlite.js";
import { formatTable } from "../../bench/lib/table.js";
import { addMorePeer, addPeer, throughputRow } from "../../bench/lib/throughput-row.js";

const result = (publish: number, consume: number): ThroughputResult => ({
  publish, publishRssMb: 100, publishCpuUsPerMsg: 10, consume, consumeRssMb: 120, consumeCpuUsPerMsg: 20,
});

describe("bench more peers", () => {
  it("bench more peers - a second peer's rate, per-round ratios, CPU and RSS are its own, beside the first peer's", () => {
    const raw = [result(3000, 3000), result(3300, 3300)];
    const mis = [result(1000, 2000), result(1200, 1800)];
    const boss = [result(100, 500), result(120, 450)];
    const bullmq = [{ ...result(50, 400), publishCpuUsPerMsg: 300, publishRssMb: 140 }, result(40, 300)];
    const row = throughputRow("postgres", "publish, 64 concurrent publishers", raw, mis, "publish");
    addPeer(row, mis, boss, "publish", "pg-boss send");
    addMorePeer(row, mis, bullmq, "publish", "bullmq-pg", "BullMQ (PostgreSQL) Queue.add");

    expect(row.peer_ratio).toBe(10);
    expect(row.more_peers).toEqual([
      { name: "bullmq-pg", peer: "BullMQ (PostgreSQL) Queue.add", peer_msgs_per_s: 45, peer_ratio: 25, peer_p50_ms: null, peer_p99_ms: null },
    ]);
    // Within each round: 1000/50 and 1200/40, not the ratio of the medians.
    expect(row.runs["bullmq_pg_ratio"]).toEqual([20, 30]);
    expect(row.runs["bullmq_pg_msgs_per_s"]).toEqual([50, 40]);
    expect(row.notes["bullmq_pg_cpu_us_per_msg"]).toBe(155);
    expect(row.notes["bullmq_pg_rss_mb"]).toBe(140);
    expect(row.notes["peer_cpu_us_per_msg"]).toBe(10);
  });

  it("bench more peers - the printed table gains missive/<name> only when a row has that peer", () => {
    const mis = [result(1000, 2000)];
    const plain = throughputRow("sqlite", "publish", [result(2000, 2000)], mis, "publish");
    expect(formatTable([plain])).not.toContain("bullmq-pg");

    const pg = throughputRow("postgres", "publish", [result(2000, 2000)], mis, "publish");
    addMorePeer(pg, mis, [result(50, 400)], "publish", "bullmq-pg", "BullMQ (PostgreSQL) Queue.add");
    const [header, , sqliteLine, pgLine] = formatTable([plain, pg]).split("\n");
    expect(header).toMatch(/missive\/peer +bullmq-pg msg\/s +missive\/bullmq-pg +p50 ms/);
    expect(pgLine).toMatch(/ 50 +20\.00 /);
    expect(sqliteLine).toMatch(/– +– +– +–/);
  });
});
