/**
 * The rows a full `npm run bench` writes, in order, whatever its counts:
 * the smoke test checks a quick run writes nothing else, and
 * docs/performance.md lists those a results file lacks.
 */
export interface ExpectedRow {
  readonly transport: string;
  /** Matches the row's `case`. */
  readonly pattern: RegExp;
  /** How docs/performance.md names the row when it is missing. */
  readonly label: string;
}

const spool = (transport: string, healthy: readonly string[]): ExpectedRow[] => [
  ...healthy.map((v) => ({ transport, pattern: new RegExp(`^publish, spool enabled vs disabled, broker healthy \\(${v},`), label: `publish, spool enabled vs disabled, broker healthy (${v})` })),
  { transport, pattern: /^spool while the broker is unreachable \(unkeyed/, label: "spool while the broker is unreachable (unkeyed)" },
  { transport, pattern: /^spool while the broker is unreachable \(256 keys/, label: "spool while the broker is unreachable (256 keys)" },
  { transport, pattern: /^flush after an outage \(unkeyed/, label: "flush after an outage (unkeyed)" },
  { transport, pattern: /^flush after an outage \(256 keys/, label: "flush after an outage (256 keys)" },
];

export const EXPECTED_ROWS: readonly ExpectedRow[] = [
  { transport: "sqlite", pattern: /^publish, \d+ concurrent publishers/, label: "publish, concurrent publishers" },
  { transport: "sqlite", pattern: /^consume\+ack/, label: "consume+ack" },
  { transport: "sqlite", pattern: /latency/, label: "publish→handler latency" },
  { transport: "sqlite", pattern: /^drain a \d+-message backlog/, label: "drain a backlog (RSS)" },
  { transport: "sqlite", pattern: /^outbox: write \+ outbox\.add/, label: "outbox: write + outbox.add" },
  { transport: "rabbitmq", pattern: /^outbox: write \+ outbox\.add/, label: "outbox: write + outbox.add" },
  { transport: "rabbitmq", pattern: /^publish \(classic queue\)/, label: "publish (classic queue)" },
  { transport: "rabbitmq", pattern: /^publish \(quorum queue\)/, label: "publish (quorum queue)" },
  { transport: "rabbitmq", pattern: /^consume\+ack \(classic queue\)/, label: "consume+ack (classic queue)" },
  { transport: "rabbitmq", pattern: /^consume\+ack \(quorum queue\)/, label: "consume+ack (quorum queue)" },
  { transport: "rabbitmq", pattern: /^drain a \d+-message backlog/, label: "drain a backlog (quorum queue, RSS)" },
  ...spool("sqlite", ["unkeyed", "256 keys"]),
  ...spool("rabbitmq", ["unkeyed"]),
  { transport: "nats", pattern: /^publish, PubAcks/, label: "publish, PubAcks" },
  { transport: "nats", pattern: /^consume\+ack, durable pull consumer/, label: "consume+ack, durable pull consumer" },
  { transport: "nats", pattern: /latency/, label: "publish→handler latency" },
  { transport: "nats", pattern: /^drain a \d+-message backlog/, label: "drain a backlog (RSS)" },
  { transport: "postgres", pattern: /^publish, \d+ concurrent publishers/, label: "publish, concurrent publishers" },
  { transport: "postgres", pattern: /^consume\+ack/, label: "consume+ack" },
  { transport: "postgres", pattern: /latency/, label: "publish→handler latency" },
  { transport: "postgres", pattern: /^drain a \d+-message backlog/, label: "drain a backlog (RSS)" },
  { transport: "postgres", pattern: /^transactional publish: order INSERT \+ publishIn/, label: "transactional publish: publishIn vs a plain INSERT" },
  ...(["shared server", "own server, appendfsync always"] as const).flatMap((server): ExpectedRow[] => [
    { transport: "redis", pattern: new RegExp(`^publish \\(${server}\\), \\d+ concurrent publishers`), label: `publish (${server})` },
    { transport: "redis", pattern: new RegExp(`^consume\\+ack \\(${server}\\)`), label: `consume+ack (${server})` },
    { transport: "redis", pattern: new RegExp(`^publish→handler latency \\(${server}\\)`), label: `publish→handler latency (${server})` },
  ]),
  { transport: "redis", pattern: /^drain a \d+-message backlog/, label: "drain a backlog (RSS)" },
  { transport: "postgres", pattern: /^publish with NOTIFY on vs off, 1 concurrent/, label: "publish with NOTIFY on vs off, 1 single-message transaction at a time" },
  { transport: "postgres", pattern: /^publish with NOTIFY on vs off, 16 concurrent/, label: "publish with NOTIFY on vs off, 16 concurrent single-message transactions" },
  { transport: "postgres", pattern: /^publish with NOTIFY on vs off, 32 concurrent/, label: "publish with NOTIFY on vs off, 32 concurrent single-message transactions" },
  { transport: "postgres", pattern: /^churn: \d+ messages through one queue/, label: "churn: messages through one queue, then its table and index size" },
  { transport: "sqlite", pattern: /^dashboard, \d+-entry dead-letter store/, label: "dashboard, 1,000,000-entry dead-letter store (page, group summary, api/groups, server RSS)" },
];

export function matchesExpected(row: { readonly transport: string; readonly case: string }, expected: ExpectedRow): boolean {
  return row.transport === expected.transport && expected.pattern.test(row.case);
}
