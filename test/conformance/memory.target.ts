import { missive, type Bus, type InboxStore } from "../../src/index.js";
import { createMemoryBroker, memoryInbox, DEFAULT_MEMORY_CAPABILITIES, type MemoryTransport } from "../../src/transports/memory/index.js";
import { seamCapabilities, type MemoryCapabilities } from "../../src/transports/memory/memory-capabilities.js";
import { plainViaTransport } from "./plain-via-transport.js";
import type { ConformanceTarget, TargetHandle } from "./target.js";

/** The memory broker as a target, with some of its abilities switched off (`overrides`). */
export function memoryTargetWith(name: string, overrides: Partial<MemoryCapabilities>): ConformanceTarget {
  return {
    name,
    capabilities: seamCapabilities({ ...DEFAULT_MEMORY_CAPABILITIES, ...overrides }),
    setup: () => setupMemory(overrides),
  };
}

export const memoryTarget: ConformanceTarget = memoryTargetWith("memory", {});

async function setupMemory(overrides: Partial<MemoryCapabilities>): Promise<TargetHandle> {
  const broker = createMemoryBroker();
  const inbox = memoryInbox() as InboxStore<unknown>;
  const raw = broker.transport({ capabilities: overrides });
  return {
    leaseMs: 300,
    plain: plainViaTransport(raw),
    bus: (options) => missive({ service: "conformance", inbox, ...options, transport: broker.transport({ capabilities: overrides }) }),
    async kill(bus: Bus) {
      (bus.transport as MemoryTransport).crash();
      await bus.close({ deadline: 0 });
    },
    async teardown() {
      await raw.close();
    },
  };
}
