/**
 * `postgres://` and `postgresql://` as a TRANSPORT URL (`missive({ transport: "postgres://…" })`, `--url` of
 * the operator commands): the queue tables in that database. The outbox, inbox and dead-letter STORES never
 * open URLs through this registry: they take a pg Pool (code) or a database URL of their own (`missive
 * migrate --url`, `--dead-letters postgres://…`, src/cli/database-url.ts), so both uses of one URL coexist.
 * Loads node-postgres only when used.
 */
import type { InboxStore } from "../../stores/inbox.js";
import { registerTransport } from "../../transport/registry.js";

registerTransport({
  name: "postgresql",
  schemes: ["postgres", "postgresql"],
  async open(url, options) {
    const mod = await import("./index.js");
    const { transportInbox } = await import("./transport-inbox.js");
    // Operators' tools (create: false) must not create tables in a database a mistyped URL names.
    const transport = mod.postgresTransport({ ...mod.parsePostgresUrl(url), ...(options.create === false ? { migrate: false } : {}) });
    // The inbox lives in the same database, so `idempotency: "inbox"` works with nothing more to configure.
    return { transport, inbox: transportInbox(transport) as InboxStore<unknown> };
  },
});
