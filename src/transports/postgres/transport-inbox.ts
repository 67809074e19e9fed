/**
 * The inbox a `postgres://` URL brings: the PostgreSQL inbox store on the
 * transport's own pool and prefix. The bus checks an inbox's table before it
 * connects the transport, so this inbox's check first lets the transport
 * create its tables (the inbox's among them) when it may: on a fresh
 * database, `missive({ transport: "postgres://…" })` then just works.
 */
import type { PoolClient } from "pg";
import type { InboxStore } from "../../stores/inbox.js";
import { postgresInbox } from "../../stores/postgres/inbox.js";
import type { PostgresTransport } from "./postgres-transport.js";

export function transportInbox(transport: PostgresTransport): InboxStore<PoolClient> {
  const inbox = postgresInbox({ pool: transport.pool, table: transport.tables.inbox });
  return {
    name: inbox.name,
    runOnce: (group, messageId, delivery, effects) => inbox.runOnce(group, messageId, delivery, effects),
    seen: (group, messageId) => inbox.seen(group, messageId),
    cleanup: (olderThanMs) => inbox.cleanup(olderThanMs),
    async check() {
      // Creating tables is the transport's to allow (migrate option); when it may not, the inbox's own check says
      // what to run, with the reason the tables could not be made as its cause.
      let unprepared: unknown;
      await transport.prepareTables().catch((err: unknown) => (unprepared = err));
      try {
        await inbox.check?.();
      } catch (err) {
        if (unprepared !== undefined && err instanceof Error && err.cause === undefined) err.cause = unprepared;
        throw err;
      }
    },
  };
}
