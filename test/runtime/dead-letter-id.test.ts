/**
 * Regression (issue 14): a dead letter of a message without a ce-id header
 * (structured content mode keeps the id in the body) was published as
 * `dlq-${Date.now()}`, so two dead-lettered in one millisecond had the same
 * id. Each now gets a UUIDv7 of its own.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryBroker, type MemoryTransportOverrides } from "../../src/transports/memory/index.js";
import { deadLetterDelivery } from "../../src/runtime/dead-letter.js";
import { deadLetterTopic } from "../../src/transport/transport.js";

const noNativeDeadLetters: MemoryTransportOverrides = { capabilities: { nativeDeadLetter: false, nativeDelay: false, ordering: "none", leases: false } };

afterEach(() => {
  vi.restoreAllMocks();
});

describe("dead-letter id", () => {
  it("regression - two messages without ce-id dead-lettered in the same millisecond get different dead-letter ids", async () => {
    const transport = createMemoryBroker().transport(noNativeDeadLetters);
    await transport.connect();
    try {
      const dlq = await transport.subscribe({ group: deadLetterTopic("g"), topics: [deadLetterTopic("g")], prefetch: 10, ordered: false, leaseMs: 5_000 });
      const sub = await transport.subscribe({ group: "g", topics: ["t"], prefetch: 10, ordered: false, leaseMs: 5_000 });
      const body = (n: number): Uint8Array => Buffer.from(JSON.stringify({ specversion: "1.0", id: `m${n}`, type: "t", source: "s", data: n }));
      const headers = { "content-type": "application/cloudevents+json" };
      expect(await transport.publish([1, 2].map((n) => ({ topic: "t", id: `m${n}`, key: undefined, wire: { headers, body: body(n) } })))).toEqual([undefined, undefined]);
      const got = await sub.receive(2, 2_000);
      expect(got).toHaveLength(2);
      // The id a transport is given is what it may deduplicate by (OutgoingMessage.id): record it on its way in.
      const publish = vi.spyOn(transport, "publish");
      vi.spyOn(Date, "now").mockReturnValue(1_765_000_000_000);
      for (const d of got) await deadLetterDelivery(transport, d, { error: new Error("x"), reason: "failed", attempts: 1, firstFailureAt: Date.now(), group: "g" });
      const ids = publish.mock.calls.flatMap(([messages]) => messages.map((m) => m.id));
      vi.restoreAllMocks();
      expect(await dlq.receive(2, 2_000)).toHaveLength(2);
      expect(ids).toHaveLength(2);
      expect(new Set(ids).size).toBe(2);
      await sub.close();
      await dlq.close();
    } finally {
      await transport.close();
    }
  });
});
