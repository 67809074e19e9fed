/** The relay's dialect-independent rules, on a source in memory: which confirmed rows count as sent, batch bounds, backoff. */
import { describe, expect, it } from "vitest";
import { UnroutableError, type OutgoingMessage, type Transport } from "../../src/index.js";
import { startRelay, waves } from "../../src/stores/relay.js";
import type { ClaimedBatch, RelayRow, RelaySource } from "../../src/stores/relay-source.js";
import { waitFor } from "../support/wait.js";

const row = (seq: number, lane: string): RelayRow => ({ seq, id: `id-${seq}`, topic: "t", key: lane, lane, wire: { headers: {}, body: new Uint8Array() }, createdAt: 0 });

/** Unsent rows in memory; claims hand out the oldest `max`, settle marks them. */
function memorySource(rows: RelayRow[], failClaims = 0): RelaySource & { sent: number[]; claims: number } {
  const unsent = [...rows];
  const src = {
    name: "memory outbox",
    table: "memory",
    sent: [] as number[],
    claims: 0,
    async claim(max: number): Promise<ClaimedBatch | undefined> {
      src.claims++;
      if (src.claims <= failClaims) throw new Error("database down");
      const batch = unsent.slice(0, max);
      if (batch.length === 0) return undefined;
      return {
        rows: batch,
        async settle(sent) {
          for (const r of sent) {
            src.sent.push(r.seq);
            unsent.splice(unsent.indexOf(r), 1);
          }
        },
        async abandon() {},
      };
    },
    wait: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    lag: async () => ({ unsent: unsent.length, oldestAgeMs: undefined }),
    deleteSent: async () => 0,
    close: async () => undefined,
  };
  return src;
}

function recordingTransport(refuse: (m: OutgoingMessage) => boolean = () => false): Transport & { batches: OutgoingMessage[][] } {
  const batches: OutgoingMessage[][] = [];
  return {
    batches,
    name: "recording",
    capabilities: { nativeDelay: false, ordering: "none", maxMessageBytes: 1 << 20, priorities: 0 },
    connect: async () => undefined,
    bind: async () => undefined,
    subscribe: () => Promise.reject(new Error("not used")),
    close: async () => undefined,
    async publish(batch) {
      batches.push([...batch]);
      return batch.map((m) => (refuse(m) ? new UnroutableError("no group") : undefined));
    },
  };
}

describe("relay", () => {
  it("relay - a claim is split in waves: the i-th row of every lane, in claim order; one row per lane is one wave, the rows themselves", () => {
    const rows = [row(1, "a"), row(2, "b"), row(3, "a"), row(4, "b"), row(5, "c"), row(6, "a")];
    expect(waves(rows).map((w) => w.map((r) => r.seq))).toEqual([[1, 2, 5], [3, 4], [6]]);
    const distinct = [row(1, "a"), row(2, "b")];
    expect(waves(distinct)).toEqual([distinct]);
    expect(waves(distinct)[0]).toBe(distinct);
  });

  it("relay - publishes at most batchSize rows per transport batch, in claim order, and marks them sent", async () => {
    const src = memorySource(Array.from({ length: 23 }, (_, i) => row(i + 1, `k${i % 3}`)));
    const t = recordingTransport();
    const relay = startRelay(src, { transport: t, batchSize: 5 }, { pollIntervalMs: 10 });
    await relay.drain(5000);
    await relay.stop();
    expect(t.batches.every((b) => b.length <= 5)).toBe(true);
    expect(t.batches.flat().map((m) => m.id)).toEqual(Array.from({ length: 23 }, (_, i) => `id-${i + 1}`));
    expect(src.sent).toHaveLength(23);
    expect(relay.stats).toMatchObject({ published: 23, failures: 0 });
  });

  it("relay - a refused row is never overtaken: the rows behind it in its key are not sent in that claim, other keys go on", async () => {
    let refusing = true;
    const src = memorySource([row(1, "a"), row(2, "a"), row(3, "b"), row(4, "a"), row(5, "b")]);
    const t = recordingTransport((m) => refusing && m.id === "id-1");
    const relay = startRelay(src, { transport: t, backoff: { baseMs: 1, maxMs: 5 } }, { pollIntervalMs: 10 });
    await waitFor(() => t.batches.length >= 4, 5000, "four publishes");
    // First claim: wave [1, 3] (1 refused), then wave [5] (lane b only); then lane a's head alone.
    expect(t.batches.slice(0, 3).map((b) => b.map((m) => m.id))).toEqual([["id-1", "id-3"], ["id-5"], ["id-1"]]);
    refusing = false;
    await relay.drain(5000);
    await relay.stop();
    const ids = t.batches.flat().map((m) => m.id);
    // Lane a's rows 2 and 4 went out once each, only after row 1 was confirmed.
    expect(ids.filter((id) => id === "id-2" || id === "id-4")).toEqual(["id-2", "id-4"]);
    expect(ids.indexOf("id-2")).toBeGreaterThan(ids.lastIndexOf("id-1"));
    expect(src.sent).toEqual([3, 5, 1, 2, 4]);
  });

  it("relay - when a later wave's publish fails, the rows confirmed by earlier waves are marked sent and the relay backs off", async () => {
    const src = memorySource([row(1, "a"), row(2, "a")]);
    const t = recordingTransport();
    let calls = 0;
    const flaky: Transport = { ...t, publish: (batch) => (++calls === 2 ? Promise.reject(new Error("broker down")) : t.publish(batch)) };
    const relay = startRelay(src, { transport: flaky, backoff: { baseMs: 1, maxMs: 5 } }, { pollIntervalMs: 10 });
    await relay.drain(5000);
    await relay.stop();
    expect(src.sent).toEqual([1, 2]);
    expect(t.batches.map((b) => b.map((m) => m.id))).toEqual([["id-1"], ["id-2"]]);
    expect(relay.stats).toMatchObject({ published: 2, failures: 1 });
  });

  it("relay - claims that fail back off with full jitter instead of retrying at once", async () => {
    const src = memorySource([row(1, "a")], 1_000_000);
    const relay = startRelay(src, { transport: recordingTransport(), backoff: { baseMs: 20, maxMs: 80 }, random: () => 1 }, { pollIntervalMs: 1 });
    await new Promise((r) => setTimeout(r, 500));
    await relay.stop();
    // Delays 20, 40, 80, 80, …: about 7 rounds in 500 ms (a loop without backoff would make thousands).
    expect(src.claims).toBeGreaterThanOrEqual(3);
    expect(src.claims).toBeLessThanOrEqual(12);
    expect(relay.stats.failures).toBe(src.claims);
  });
});
