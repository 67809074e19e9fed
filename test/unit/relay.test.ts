/** The relay's dialect-independent rules, on a source in memory: which confirmed rows count as sent, batch bounds, backoff. */
import { describe, expect, it } from "vitest";
import { UnroutableError, type OutgoingMessage, type Transport } from "../../src/index.js";
import { sentPrefix, startRelay } from "../../src/stores/relay.js";
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
    capabilities: { nativeDelay: false, nativeDeadLetter: false, consumerGroups: true, ordering: "none", requestReply: false, leases: false, maxMessageBytes: 1 << 20 },
    connect: async () => undefined,
    bind: async () => undefined,
    subscribe: () => Promise.reject(new Error("not used")),
    stats: async () => [],
    close: async () => undefined,
    async publish(batch) {
      batches.push([...batch]);
      return batch.map((m) => (refuse(m) ? new UnroutableError("no group") : undefined));
    },
  };
}

describe("relay", () => {
  it("relay - a lane's confirmed rows after its first refused row are not marked sent; other lanes are", () => {
    const rows = [row(1, "a"), row(2, "b"), row(3, "a"), row(4, "b"), row(5, "c")];
    const { sent, failed } = sentPrefix(rows, [undefined, new UnroutableError("x"), undefined, undefined, undefined]);
    expect(sent.map((r) => r.seq)).toEqual([1, 3, 5]);
    expect(failed.map((f) => f.row.seq)).toEqual([2]);
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

  it("relay - after a refusal, the suspect lane's head goes alone until it passes; its successors never go ahead of it again", async () => {
    let refusing = true;
    const src = memorySource([row(1, "a"), row(2, "a"), row(3, "b"), row(4, "a")]);
    const t = recordingTransport((m) => refusing && m.id === "id-1");
    const relay = startRelay(src, { transport: t, backoff: { baseMs: 1, maxMs: 5 } }, { pollIntervalMs: 10 });
    await waitFor(() => t.batches.length >= 3, 5000, "three rounds");
    // First round: everything (the refusal is not known yet); then lane a's head alone, lane b in full.
    expect(t.batches[0]!.map((m) => m.id)).toEqual(["id-1", "id-2", "id-3", "id-4"]);
    for (const b of t.batches.slice(1)) expect(b.map((m) => m.id).filter((id) => id !== "id-3")).toEqual(["id-1"]);
    refusing = false;
    await relay.drain(5000);
    await relay.stop();
    expect(src.sent).toEqual([3, 1, 2, 4]);
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
