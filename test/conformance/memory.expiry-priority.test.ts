import { missive, type Bus } from "../../src/index.js";
import { createMemoryBroker, DEFAULT_MEMORY_CAPABILITIES, type MemoryTransport } from "../../src/transports/memory/index.js";
import { seamCapabilities } from "../../src/transports/memory/memory-capabilities.js";
import { runExpiryPriorityConformance } from "./expiry-priority.suite.js";
import { memoryTarget } from "./memory.target.js";
import { plainViaTransport } from "./plain-via-transport.js";
import type { ConformanceTarget } from "./target.js";

/** The memory broker with native priority turned off: the runtime's fill-in is what orders by priority. */
const withoutPriorities: ConformanceTarget = {
  name: "memory, priorities off",
  capabilities: seamCapabilities({ ...DEFAULT_MEMORY_CAPABILITIES, priorities: false }),
  async setup() {
    const broker = createMemoryBroker();
    const raw = broker.transport({ capabilities: { priorities: false } });
    return {
      leaseMs: 300,
      plain: plainViaTransport(raw),
      bus: async (options) => missive({ service: "conformance", ...options, transport: broker.transport({ capabilities: { priorities: false } }) }),
      async kill(bus: Bus) {
        (bus.transport as MemoryTransport).crash();
        await bus.close({ deadline: 0 });
      },
      async teardown() {
        await raw.close();
      },
    };
  },
};

runExpiryPriorityConformance(memoryTarget);
runExpiryPriorityConformance(withoutPriorities);
