/** `missive/memory`: the in-process transport and seeded fault simulator. Public exports only. */
export { createMemoryBroker, forgetMemoryBroker, memoryBrokerNamed, memoryTransport } from "./memory-broker.js";
export type { MemoryBroker, MemoryBrokerOptions, MemoryBrokerStats, MemoryQueueStats } from "./memory-broker.js";
export { DEFAULT_MEMORY_CAPABILITIES } from "./memory-transport.js";
export type { MemoryTransport, MemoryTransportOverrides } from "./memory-transport.js";
export type { FaultOptions } from "./faults.js";
export type { MemoryCapabilities } from "./memory-capabilities.js";
export { memoryInbox } from "./memory-inbox.js";
export type { MemoryInbox, MemoryTx } from "./memory-inbox.js";
export { createRng } from "./rng.js";
export type { Rng } from "./rng.js";
