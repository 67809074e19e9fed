/**
 * `missive/nats`: the NATS JetStream transport.
 */
export { natsTransport } from "./nats-transport.js";
export type { NatsTransport } from "./nats-transport.js";
export { parseNatsUrl, NATS_DEFAULTS } from "./options.js";
export type { NatsTransportOptions } from "./options.js";
