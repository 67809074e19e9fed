/**
 * The transports of docs/guarantees.md and the broker configuration each
 * test file runs under. A test belongs to the column its file says (the
 * per-transport conformance, seam and fault files are named so).
 */
export interface Column {
  readonly id: string;
  readonly title: string;
  /** Test files of this transport. The first column that matches a file wins. */
  readonly files: RegExp;
}

export const COLUMNS: readonly Column[] = [
  { id: "memory", title: "memory", files: /(^|\/)memory[-.]/ },
  { id: "sqlite", title: "SQLite", files: /(^|\/)(sqlite[-.]|cli-replay-sigkill)/ },
  { id: "rabbitmq-cluster", title: "RabbitMQ, replicated (3-node cluster)", files: /(^|\/)rabbitmq-cluster[-.]/ },
  { id: "rabbitmq", title: "RabbitMQ (single node)", files: /(^|\/)rabbitmq[-.]/ },
  { id: "nats-cluster", title: "NATS JetStream, replicated (3-node cluster)", files: /(^|\/)nats-cluster[-.]/ },
  { id: "nats", title: "NATS JetStream (single server)", files: /(^|\/)nats[-.]/ },
  { id: "postgres", title: "PostgreSQL", files: /(^|\/)postgres[-.]/ },
  { id: "redis", title: "Redis Streams", files: /(^|\/)redis[-.]/ },
];

/** The configuration a file's tests held under: the first entry whose pattern matches the file. */
const CONFIGURATIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/memory-no-delay/, "in-process broker, native delay off (the runtime's delay fill)"],
  [/seam\/memory-restricted/, "in-process broker, every optional capability off"],
  [/memory/, "in-process broker (createMemoryBroker), native delay and priorities"],
  [/cli-replay-sigkill/, "a database file of the test's own, WAL, synchronous=FULL (the default); the CLI as a child process"],
  [/faults\/sqlite-spool/, "a database file of the test's own, WAL, synchronous=FULL; its write lock held by another connection as the outage; a spool file of the producer's own"],
  [/faults\/sqlite/, "a database file of the test's own, WAL, synchronous=FULL (the default), shared by child processes"],
  [/sqlite/, "a database file of the test's own, WAL, synchronous=FULL (the default)"],
  [/rabbitmq-cluster/, "3 RabbitMQ nodes of the test's own on loopback ports, quorum queues with 3 replicas"],
  [/faults\/rabbitmq-broker-faults/, "a single RabbitMQ node of the test's own on another loopback port, quorum queues (the default)"],
  [/faults\/rabbitmq-(consume-network|publish-reset|publish-order|spool-blackhole|spool-resets)/, "the shared single RabbitMQ node (127.0.0.1:5672), a vhost of the test's own, quorum queues (the default), reached through a TCP proxy of the test's own that resets or blackholes"],
  [/faults\/rabbitmq-spool/, "the shared single RabbitMQ node (127.0.0.1:5672), a vhost of the test's own, quorum queues (the default), made unreachable through a TCP proxy of the test's own; a spool file of the producer's own"],
  [/nats-cluster/, "3 nats-server 2.9 processes of the test's own on loopback ports, streams with 3 replicas, file storage"],
  [/conformance\/nats\.conformance/, "a nats-server 2.9 of the test's own (JetStream, file storage, max_payload 8 MiB so an over-limit body reaches missive), streams with 1 replica"],
  [/faults\/nats-network/, "the shared nats-server 2.9 (127.0.0.1:4222, JetStream, file storage), streams with 1 replica and a prefix of the test's own, reached through a TCP proxy of the test's own that resets or blackholes"],
  [/faults\/nats-key-order/, "the shared nats-server 2.9 (127.0.0.1:4222, JetStream, file storage), streams with 1 replica and a prefix of the test's own, shared by two ordered consumer processes, one SIGKILLed by the test"],
  [/faults\/nats-consumer-sigkill/, "the shared nats-server 2.9 (127.0.0.1:4222, JetStream, file storage), streams with 1 replica and a prefix of the test's own, shared by consumer processes SIGKILLed by the test"],
  [/faults\/nats/, "a nats-server 2.9 of the test's own on another loopback port (JetStream, file storage), streams with 1 replica; resets and blackholes through a TCP proxy of the test's own"],
  [/nats/, "the shared nats-server 2.9 (127.0.0.1:4222, JetStream, file storage), streams with 1 replica and a prefix of the test's own"],
  [/faults\/postgres-restart/, "a PostgreSQL 15 cluster of the test's own (initdb into a temp dir, another loopback port, server defaults: fsync on, synchronous_commit on)"],
  [/faults\/postgres-network/, "the shared PostgreSQL 15 (127.0.0.1:5432, db test; fsync on, synchronous_commit on), tables with a prefix of the test's own; the pool and the LISTEN connection through a TCP proxy of the test's own"],
  [/faults\/postgres-producer-sigkill/, "the shared PostgreSQL 15 (127.0.0.1:5432, db test; fsync on, synchronous_commit on), tables with a prefix of the test's own, written by a producer process SIGKILLed by the test"],
  [/faults\/postgres-listen-halfopen/, "the shared PostgreSQL 15 (127.0.0.1:5432, db test; fsync on, synchronous_commit on), tables with a prefix of the test's own; the LISTEN connection through a TCP proxy of the test's own"],
  [/faults\/postgres/, "the shared PostgreSQL 15 (127.0.0.1:5432, db test; fsync on, synchronous_commit on), tables with a prefix of the test's own, shared by consumer processes SIGKILLed by the test"],
  [/postgres/, "the shared PostgreSQL 15 (127.0.0.1:5432, db test; fsync on, synchronous_commit on, autovacuum off), tables with a prefix of the test's own"],
  [/faults\/redis-server-sigkill/, "a redis-server 7.0 of the test's own on another loopback port: appendonly yes, appendfsync always (nothing lost); and one with no persistence, where the loss doctor warns about is counted"],
  [/faults\/redis-network/, "the shared redis-server 7.0 (127.0.0.1:6379, no persistence), keys with a prefix of the test's own, reached through a TCP proxy of the test's own that resets or blackholes"],
  [/faults\/redis/, "the shared redis-server 7.0 (127.0.0.1:6379, no persistence), keys with a prefix of the test's own, shared by consumer processes SIGKILLed by the test"],
  [/redis/, "the shared redis-server 7.0 (127.0.0.1:6379, no persistence: a restart loses everything, see doctor), keys with a prefix of the test's own"],
  [/expiry-priority/, "the shared single RabbitMQ node (127.0.0.1:5672), a vhost of the test's own; classic queues where the test says priorities on, quorum otherwise"],
  [/rabbitmq/, "the shared single RabbitMQ node (127.0.0.1:5672), a vhost of the test's own, quorum queues (the default)"],
];

export function columnOf(file: string): Column | undefined {
  return COLUMNS.find((c) => c.files.test(file));
}

export function configurationOf(file: string): string {
  return CONFIGURATIONS.find(([pattern]) => pattern.test(file))?.[1] ?? "not recorded";
}
