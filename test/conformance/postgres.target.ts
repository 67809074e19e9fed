/** The bus suite's target on the shared PostgreSQL server: a table prefix per test, dropped after. */
import pg from "pg";
import { missive, type Bus, type WireMessage } from "../../src/index.js";
import type { InboxStore } from "../../src/stores/inbox.js";
import { postgresInbox } from "../../src/stores/postgres/index.js";
import { postgresTransport } from "../../src/transports/postgres/index.js";
import { dropPrefix, PG_URL, pgPrefix } from "../support/postgres.js";
import type { ConformanceTarget, PlainClient } from "./target.js";

/** A plain node-postgres client working on the documented tables (docs/transports/postgres.md). */
async function plainPostgres(prefix: string): Promise<PlainClient & { close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  return {
    async publish(topic, headers, body) {
      await client.query(
        `INSERT INTO ${prefix}queue (group_name, topic, message_id, key, headers, body)
         SELECT group_name, $1, $2, $3, $4, $5 FROM ${prefix}bindings WHERE topic = $6`,
        [topic, headers["ce-id"] ?? "plain", headers["ce-key"] ?? null, JSON.stringify(headers), Buffer.from(body), topic],
      );
    },
    async take(group, max) {
      const { rows } = await client.query<{ headers: string; body: Buffer }>(
        `DELETE FROM ${prefix}queue WHERE seq IN (SELECT seq FROM ${prefix}queue WHERE group_name = $1 ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING seq, headers, body`,
        [group, max],
      );
      return rows.map((r): WireMessage => ({ headers: JSON.parse(r.headers) as Record<string, string>, body: new Uint8Array(r.body) }));
    },
    close: () => client.end(),
  };
}

export const postgresTarget: ConformanceTarget = {
  name: "postgres",
  capabilities: { nativeDelay: true, ordering: "key", maxMessageBytes: 64 * 1024 * 1024, priorities: 10 },
  async setup() {
    const prefix = pgPrefix();
    // Create the tables before the plain client uses them.
    const first = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix });
    await first.connect();
    const plain = await plainPostgres(prefix);
    const inboxes: Array<{ close(): void }> = [];
    return {
      leaseMs: 500,
      plain,
      async bus(options) {
        const transport = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix });
        const inbox = postgresInbox({ pool: transport.pool, table: transport.tables.inbox });
        inboxes.push(inbox);
        return missive({ service: "conformance", inbox: inbox as InboxStore<unknown>, ...options, transport });
      },
      async kill(bus: Bus) {
        // Drop the connections with nothing settled, as a crash would; the leases bring the messages back.
        await bus.transport.close();
        await bus.close({ deadline: 0 });
      },
      async teardown() {
        for (const inbox of inboxes) inbox.close();
        await plain.close();
        await first.close();
        await dropPrefix(prefix);
      },
    };
  },
};
