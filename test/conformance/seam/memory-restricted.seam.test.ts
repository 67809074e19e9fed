/**
 * The seam suite on a memory transport with every optional capability and
 * ability off: the suite must pass by leaving out what the transport does
 * not declare (no retry delay, no dead-letter store, no key order, no lease
 * expiry), not by failing or skipping.
 */
import { runSeamSuite, seamFeatures } from "../../../src/testing/index.js";
import { createMemoryBroker, type MemoryBroker, type MemoryTransport, type MemoryTransportOverrides } from "../../../src/transports/memory/index.js";

const restricted: MemoryTransportOverrides = { capabilities: { nativeDeadLetter: false, nativeDelay: false, ordering: "none", leases: false } };
let broker: MemoryBroker = createMemoryBroker();

runSeamSuite<MemoryTransport>({
  name: "memory (capabilities off)",
  features: seamFeatures(broker.transport(restricted), { leases: false, exactAttempts: true, countsConsumers: true }),
  beforeEach: async () => {
    broker = createMemoryBroker();
  },
  open: () => broker.transport(restricted),
  crash: async (t) => t.crash(),
});
