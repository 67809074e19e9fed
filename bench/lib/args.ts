/**
 * Command-line options of `npm run bench`, with their defaults in one place.
 *
 *   npm run bench -- [--messages N] [--runs N] [--backlog N] [--rate N] [--seconds N]
 *                    [--quick] [--no-peer] [--no-durable-peer] [--out PATH]
 *                    [--only sqlite,rabbitmq,nats,postgres,redis,dashboard]
 *
 * `--quick` shrinks every count (the smoke test uses it). `--out` (or the
 * MISSIVE_BENCH_OUT environment variable) writes the JSON elsewhere than
 * bench/results/latest.json. `--only` runs the rows of the transports it
 * names (comma-separated), every transport without it.
 */
import { join } from "node:path";

export interface BenchConfig {
  /** Messages per throughput case (publish, consume+ack, BullMQ add/worker). */
  readonly messages: number;
  /** Rounds of the throughput cases; each round runs raw, missive and the peer back to back. */
  readonly runs: number;
  /** Backlog drained while RSS is sampled. */
  readonly backlog: number;
  /** Offered rate of the latency case, msg/s. */
  readonly rate: number;
  /** Duration of the latency case, s. */
  readonly seconds: number;
  /** Concurrent publishers (and raw transaction size). */
  readonly publishers: number;
  readonly peer: boolean;
  /** Also run the peer on a Redis of the bench's own with `appendfsync always` (durable like missive). Off with --quick or --no-durable-peer. */
  readonly durablePeer: boolean;
  readonly quick: boolean;
  readonly out: string;
  readonly redis: { readonly host: string; readonly port: number };
  /** The transports whose rows run (`--only`); every one of TRANSPORTS by default. */
  readonly only: ReadonlySet<BenchTransport>;
}

/** Every transport with rows, in the order a run writes them (`dashboard`: the dashboard over a SQLite dead-letter store). */
export const TRANSPORTS = ["sqlite", "rabbitmq", "nats", "postgres", "redis", "dashboard"] as const;
export type BenchTransport = (typeof TRANSPORTS)[number];

function parseOnly(value: string | undefined): ReadonlySet<BenchTransport> {
  if (value === undefined) return new Set(TRANSPORTS);
  const names = value.split(",").map((x) => x.trim()).filter((x) => x !== "");
  const unknown = names.filter((x) => !(TRANSPORTS as readonly string[]).includes(x));
  if (names.length === 0 || unknown.length > 0) throw new Error(`--only takes a comma-separated list of ${TRANSPORTS.join(", ")}; got ${JSON.stringify(value)}`);
  return new Set(names as BenchTransport[]);
}

const FULL = { messages: 50_000, runs: 3, backlog: 100_000, rate: 2000, seconds: 5 };
const QUICK = { messages: 2000, runs: 1, backlog: 5000, rate: 1000, seconds: 1 };

export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = argv.includes("--quick");
  const base = quick ? QUICK : FULL;
  const num = (flag: string, fallback: number): number => {
    const i = argv.indexOf(flag);
    if (i < 0) return fallback;
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${flag} needs a positive number`);
    return Math.floor(v);
  };
  const str = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i < 0 ? undefined : argv[i + 1];
  };
  return {
    messages: num("--messages", base.messages),
    runs: num("--runs", base.runs),
    backlog: num("--backlog", base.backlog),
    rate: num("--rate", base.rate),
    seconds: num("--seconds", base.seconds),
    publishers: 64,
    peer: !argv.includes("--no-peer"),
    durablePeer: !quick && !argv.includes("--no-peer") && !argv.includes("--no-durable-peer"),
    quick,
    out: str("--out") ?? env["MISSIVE_BENCH_OUT"] ?? join(import.meta.dirname, "..", "results", "latest.json"),
    only: parseOnly(argv.includes("--only") ? (str("--only") ?? "") : undefined),
    redis: { host: env["MISSIVE_BENCH_REDIS_HOST"] ?? "127.0.0.1", port: Number(env["MISSIVE_BENCH_REDIS_PORT"] ?? 6379) },
  };
}
