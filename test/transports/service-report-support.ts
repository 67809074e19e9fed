/** A service report and a two-transport round trip, for the tests of each transport's report channel. */
import { expect } from "vitest";
import type { ServiceReporting } from "../../src/transport/abilities.js";
import { LATENCY_BUCKETS_MS, type ServiceReport } from "../../src/transport/service-report.js";
import { waitFor } from "../support/wait.js";

export function report(reporter: string, at: number): ServiceReport {
  const counts = LATENCY_BUCKETS_MS.map(() => 0).concat(0);
  counts[3] = 7;
  const latency = { counts, p50: 10, p95: 10, p99: 10 };
  return {
    v: 1, kind: "service", reporter, service: "billing", host: "h", pid: 42, at, intervalMs: 1000,
    types: [{ group: "g", type: "order.created", processed: 7, failed: 1, processing: latency, age: latency, total: latency, slo: { withinMs: 30_000, target: 0.95 } }],
    groups: [{ group: "g", blockedKeys: [{ key: "o-1", since: at - 500, messageId: "m-1", attempts: 2 }], hotKeys: [{ key: "o-1", waiting: 3, oldestAt: null }] }],
    producer: { broker: "up", breaker: "closed", spool: { messages: 2, bytes: 100, parked: 0, oldestAt: at - 1000 } },
    outboxes: [{ store: "sqlite outbox", table: "missive_outbox", unsent: 5, oldestAgeMs: 1200 }],
  };
}

export async function roundTrip(writer: ServiceReporting, reader: ServiceReporting, since: number): Promise<ServiceReport[]> {
  const first = report("r-1", since + 10);
  await writer.writeReport(first);
  await writer.writeReport(report("r-1", since + 20));
  let read: ServiceReport[] = [];
  await waitFor(async () => (read = await reader.readReports(since)).length >= 2, 20_000, "both reports read back");
  expect(read[0]).toEqual(first);
  expect(read.map((r) => r.at)).toEqual([since + 10, since + 20]);
  expect(await reader.readReports(since + 15)).toEqual([report("r-1", since + 20)]);
  return read;
}
