/** `memory://name`: a named in-process broker (tests, demos). */
import type { InboxStore } from "../../stores/inbox.js";
import { registerTransport } from "../../transport/registry.js";

/** One inbox per named broker: buses on one broker share it, as they would share a database. */
const inboxes = new WeakMap<object, InboxStore<unknown>>();

registerTransport({
  name: "memory",
  schemes: ["memory"],
  async open(url) {
    const mod = await import("./index.js");
    const broker = mod.memoryBrokerNamed(url.slice("memory://".length) || "default");
    let inbox = inboxes.get(broker);
    if (!inbox) inboxes.set(broker, (inbox = mod.memoryInbox() as InboxStore<unknown>));
    return { transport: broker.transport(), inbox };
  },
});
