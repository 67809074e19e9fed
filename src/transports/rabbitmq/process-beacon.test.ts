import { describe, expect, it } from "vitest";
import { liveProcesses, processRecordOf } from "./process-beacon.js";

const settings = { heartbeatSeconds: 10, frameMax: 131072, brokerVersion: "4.0.5", queueType: "quorum", declare: true, confirmTimeoutMs: 10000, tls: false, nodes: 1, partitions: 16 };
const record = (over: Record<string, unknown>) => ({ v: 1, kind: "process", reporter: "r1", host: "h", pid: 1, missiveVersion: "0.1.0", startedAt: 1, closed: false, at: 1000, settings, ...over });

describe("process records (doctor on rabbitmq)", () => {
  it("process records - hostile records on the shared stream are skipped, never trusted", () => {
    for (const bad of [null, 5, "x", [], record({ v: 2 }), record({ pid: "1" }), record({ host: "h".repeat(300) }), record({ settings: null }), record({ settings: { ...settings, heartbeatSeconds: 1.5 } }), record({ at: Number.NaN })]) {
      expect(processRecordOf(bad)).toBeUndefined();
    }
    expect(processRecordOf(record({}))?.settings.queueType).toBe("quorum");
  });

  it("process records - each reporter's latest counts: a closed or stale one is not live", () => {
    const now = 20_000;
    const live = liveProcesses([
      record({ reporter: "a", at: 10_000 }),
      record({ reporter: "a", at: 12_000, closed: true }),
      record({ reporter: "b", at: 1_000 }),
      record({ reporter: "c", at: 19_000, startedAt: 5 }),
      record({ reporter: "d", at: 18_000, startedAt: 3 }),
    ], now);
    expect(live.map((r) => r.reporter)).toEqual(["d", "c"]);
  });
});
