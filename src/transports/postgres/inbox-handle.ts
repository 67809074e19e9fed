/**
 * Types only: a `postgres://` URL brings an inbox in the same database (register.ts), whose transaction
 * hands the handler the pooled node-postgres client, so `ctx.transaction` with `idempotency: "inbox"` is
 * typed with it (runtime/inbox-handles.ts).
 *
 * This file is loaded with missive's root types, where `pg` (an optional peer) may not be installed: the
 * handle is declared structurally, as the part of pg's PoolClient a handler writes through. A handler that
 * needs the whole PoolClient type gets it from an `inbox: postgresInbox({ pool })` store (missive/stores/postgres).
 */

/** The pooled node-postgres client a `postgres://` bus's inbox transaction hands out, as far as a handler uses it. */
export interface PostgresInboxClient {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

declare module "../../runtime/inbox-handles.js" {
  interface TransportInboxHandles {
    postgres: PostgresInboxClient;
    postgresql: PostgresInboxClient;
  }
}
