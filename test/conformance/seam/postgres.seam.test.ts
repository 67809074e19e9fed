/** The seam suite on the PostgreSQL transport: a table prefix per test on the shared server, dropped after. */
import { runSeamSuite, seamFeatures } from "../../../src/testing/index.js";
import { postgresTransport, type PostgresTransport } from "../../../src/transports/postgres/index.js";
import { dropPrefix, PG_URL, pgPrefix, pgQuery } from "../../support/postgres.js";

let prefix: string | undefined;
const current = (): string => (prefix ??= pgPrefix());
// The features come from the transport itself; an unconnected one is enough to read them.
const probe = postgresTransport({ connectionString: PG_URL });
const features = seamFeatures(probe, { leases: true, exactAttempts: true, countsConsumers: true });
await probe.close();

runSeamSuite<PostgresTransport>({
  name: "postgres",
  features,
  afterEach: async () => {
    if (prefix !== undefined) await dropPrefix(prefix);
    prefix = undefined;
  },
  open: () => postgresTransport({ connectionString: PG_URL, tablePrefix: current() }),
  // A process that stalled past its leases: another consumer may claim its rows, and its own settles find them gone.
  expireLeases: async (t) => {
    await t.pool.query(`UPDATE ${t.tables.queue} SET visible_at = 0, lease_token = 'expired-' || seq WHERE lease_token IS NOT NULL`);
  },
  plain: {
    // A plain node-postgres client on the documented tables (docs/transports/postgres.md).
    async publish(topic, wire) {
      const p = current();
      await pgQuery(
        `INSERT INTO ${p}queue (group_name, topic, message_id, key, headers, body)
         SELECT group_name, $1, $2, $3, $4, $5 FROM ${p}bindings WHERE topic = $6`,
        [topic, wire.headers["ce-id"] ?? "plain", wire.headers["ce-key"] ?? null, JSON.stringify(wire.headers), Buffer.from(wire.body), topic],
      );
    },
  },
});
