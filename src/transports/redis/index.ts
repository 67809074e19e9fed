/**
 * `missive/redis`: the Redis Streams transport.
 */
export { redisTransport } from "./redis-transport.js";
export type { RedisTransport } from "./redis-transport.js";
export { parseRedisUrl, REDIS_DEFAULTS } from "./options.js";
export type { RedisTransportOptions } from "./options.js";
