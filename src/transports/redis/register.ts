/** `redis://`, `rediss://`: Redis Streams. Loads ioredis only when used. */
import { registerTransport } from "../../transport/registry.js";

registerTransport({
  name: "redis",
  schemes: ["redis", "rediss"],
  async open(url, options) {
    const mod = await import("./index.js");
    // Redis keeps no inbox of its own here: pass one (`inbox:` in the bus options) for effectively-once handlers.
    return { transport: mod.redisTransport({ ...mod.parseRedisUrl(url), ...(options.create === undefined ? {} : { create: options.create }) }) };
  },
});
