/** `nats://`: NATS JetStream. Loads the @nats-io clients only when used. */
import { registerTransport } from "../../transport/registry.js";

registerTransport({
  name: "nats",
  schemes: ["nats"],
  async open(url, options) {
    const mod = await import("./index.js");
    // JetStream keeps no inbox of its own: pass one (`inbox:` in the bus options) for effectively-once handlers.
    return { transport: mod.natsTransport({ ...mod.parseNatsUrl(url), ...(options.create === undefined ? {} : { create: options.create }) }) };
  },
});
