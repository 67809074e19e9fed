/** The seam suite on the memory transport, every capability and ability on. */
import { runSeamSuite, seamFeatures } from "../../../src/testing/index.js";
import { createMemoryBroker, type MemoryBroker, type MemoryTransport } from "../../../src/transports/memory/index.js";

let broker: MemoryBroker = createMemoryBroker();

runSeamSuite<MemoryTransport>({
  name: "memory",
  features: seamFeatures(broker.transport(), { leases: true, exactAttempts: true, countsConsumers: true }),
  // A broker per test: nothing a test leaves behind reaches the next.
  beforeEach: async () => {
    broker = createMemoryBroker();
  },
  open: () => broker.transport(),
  crash: async (t) => t.crash(),
});
