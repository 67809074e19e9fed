import { describe, expect, it } from "vitest";
import { featureMismatches, seamFeatures } from "../../src/testing/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";

const behaviour = { leases: true, exactAttempts: true, countsConsumers: true };

describe("seam suite - features", () => {
  it("seam suite - features are read from the transport's capabilities and abilities", () => {
    const broker = createMemoryBroker();
    expect(seamFeatures(broker.transport(), behaviour)).toEqual({
      ...behaviour, nativeDelay: true, ordering: "key", nativeDeadLetters: true, queueInspection: true, durabilityReporting: true, ping: false,
    });
    const off = broker.transport({ capabilities: { nativeDelay: false, nativeDeadLetter: false, ordering: "none" } });
    expect(seamFeatures(off, behaviour)).toMatchObject({ nativeDelay: false, ordering: "none", nativeDeadLetters: false });
  });

  it("seam suite - a target that declares what its transport does not say is caught, not tested for it", () => {
    const broker = createMemoryBroker();
    const declared = seamFeatures(broker.transport(), behaviour);
    const actual = broker.transport({ capabilities: { nativeDelay: false, nativeDeadLetter: false } });
    expect(featureMismatches(declared, actual)).toEqual([
      "nativeDelay: declared true, the transport says false",
      "nativeDeadLetters: declared true, the transport says false",
    ]);
    expect(featureMismatches({ ...declared, queueInspection: false }, broker.transport())).toContain("countsConsumers needs queueInspection");
  });
});
