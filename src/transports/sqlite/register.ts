/** `sqlite://path`: the embedded default. Loads better-sqlite3 only when used. */
import type { InboxStore } from "../../stores/inbox.js";
import { registerTransport } from "../../transport/registry.js";

registerTransport({
  name: "sqlite",
  schemes: ["sqlite"],
  async open(url, options) {
    const mod = await import("./index.js");
    const transport = mod.sqliteTransport({ ...mod.parseSqliteUrl(url), ...(options.create === undefined ? {} : { create: options.create }) });
    // The file keeps an inbox of its own, so `idempotency: "inbox"` works with nothing more to configure.
    return { transport, inbox: mod.sqliteInbox(transport) as InboxStore<unknown> };
  },
});
