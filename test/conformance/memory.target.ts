import { missive, type Bus, type InboxStore } from "../../src/index.js";
import { createMemoryBroker, memoryInbox, DEFAULT_MEMORY_CAPABILITIES, type MemoryTransport } from "../../src/transports/memory/index.js";
import { seamCapabilities } from "../../src/transports/memory/memory-capabilities.js";
import { plainViaTransport } from "./plain-via-transport.js";
import type { ConformanceTarget } from "./target.js";

export const memoryTarget: ConformanceTarget = {
  name: "memory",
  capabilities: seamCapabilities(DEFAULT_MEMORY_CAPABILITIES),
  async setup() {
    const broker = createMemoryBroker();
    const inbox = memoryInbox() as InboxStore<unknown>;
    const raw = broker.transport();
    return {
      leaseMs: 300,
      plain: plainViaTransport(raw),
      bus: (options) => missive({ service: "conformance", inbox, ...options, transport: broker.transport() }),
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
