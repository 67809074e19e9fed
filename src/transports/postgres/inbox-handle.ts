/**
 * Types only: a `postgres://` URL brings an inbox in the same database (register.ts), whose transaction
 * hands the handler the pooled node-postgres client, so `ctx.transaction` with `idempotency: "inbox"` is
 * typed with it (runtime/inbox-handles.ts).
 */
import type { PoolClient } from "pg";

declare module "../../runtime/inbox-handles.js" {
  interface TransportInboxHandles {
    postgres: PoolClient;
    postgresql: PoolClient;
  }
}
