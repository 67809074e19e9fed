/**
 * Options of the NATS JetStream transport, and the one function that
 * applies their defaults and validates them (STYLE.md §7).
 */
import { ConfigurationError } from "../../errors.js";

export interface NatsTransportOptions {
  /** Servers, `host:port`, as `nats://` URLs list them. Required. */
  readonly servers: readonly string[];
  /** Prefix of every stream and subject missive creates, so several buses can share a server. Default `missive`. */
  readonly prefix?: string;
  /** Replicas of each stream missive creates (1, 3 or 5; a cluster needs as many servers). Default 1. */
  readonly replicas?: number;
  /** The streams' duplicate window: a publish retried with the same message id within it is stored once, ms. Default 120000. */
  readonly duplicateWindowMs?: number;
  /** Most PubAcks outstanding at once while a batch publishes. Default 256. */
  readonly publishWindow?: number;
  /** How long one publish waits for its PubAck, ms. Default 10000. */
  readonly publishTimeoutMs?: number;
  /** Largest message accepted (headers + body), bytes; also capped by the server's max_payload. Default 1 MiB. */
  readonly maxMessageBytes?: number;
  /** How often the client pings the server; two unanswered pings end a dead link (a blackholed network) and it reconnects, ms. Default 10000. */
  readonly pingIntervalMs?: number;
  /** Username and password, when not in the URL. */
  readonly user?: string;
  readonly pass?: string;
  /** Create streams and consumers when missing. Default `true`; the CLI passes `false`. */
  readonly create?: boolean;
  /** Partitions of an ordered group (a power of two, 1 to 256): at most this many members of it work at once (ADR 012). Default 16. */
  readonly partitions?: number;
}

export interface ResolvedNatsOptions {
  readonly servers: readonly string[];
  readonly prefix: string;
  readonly replicas: number;
  readonly duplicateWindowMs: number;
  readonly publishWindow: number;
  readonly publishTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly pingIntervalMs: number;
  readonly user: string | undefined;
  readonly pass: string | undefined;
  readonly create: boolean;
  readonly partitions: number;
}

export const NATS_DEFAULTS = {
  prefix: "missive",
  replicas: 1,
  duplicateWindowMs: 120_000,
  publishWindow: 256,
  publishTimeoutMs: 10_000,
  maxMessageBytes: 1024 * 1024,
  pingIntervalMs: 10_000,
  create: true,
  partitions: 16,
} as const;

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new ConfigurationError(`nats: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

export function resolveNatsOptions(options: NatsTransportOptions): ResolvedNatsOptions {
  if (options.servers.length === 0) throw new ConfigurationError("nats: at least one server is required");
  const replicas = positive("replicas", options.replicas ?? NATS_DEFAULTS.replicas);
  if (![1, 3, 5].includes(replicas)) throw new ConfigurationError(`nats: replicas must be 1, 3 or 5, got ${replicas}`);
  const prefix = options.prefix ?? NATS_DEFAULTS.prefix;
  if (prefix === "") throw new ConfigurationError("nats: prefix must not be empty");
  const partitions = positive("partitions", options.partitions ?? NATS_DEFAULTS.partitions);
  if (partitions > 256 || (partitions & (partitions - 1)) !== 0) throw new ConfigurationError(`nats: partitions must be a power of two from 1 to 256, got ${partitions}`);
  return {
    partitions,
    servers: [...options.servers],
    prefix,
    replicas,
    duplicateWindowMs: positive("duplicateWindowMs", options.duplicateWindowMs ?? NATS_DEFAULTS.duplicateWindowMs),
    publishWindow: positive("publishWindow", options.publishWindow ?? NATS_DEFAULTS.publishWindow),
    publishTimeoutMs: positive("publishTimeoutMs", options.publishTimeoutMs ?? NATS_DEFAULTS.publishTimeoutMs),
    maxMessageBytes: positive("maxMessageBytes", options.maxMessageBytes ?? NATS_DEFAULTS.maxMessageBytes),
    pingIntervalMs: positive("pingIntervalMs", options.pingIntervalMs ?? NATS_DEFAULTS.pingIntervalMs),
    user: options.user,
    pass: options.pass,
    create: options.create ?? NATS_DEFAULTS.create,
  };
}

/**
 * `nats://[user:pass@]host:port[,host:port…][?prefix=…&replicas=3]`: the
 * servers (comma-separated for a cluster) and the options that name where
 * missive's streams live.
 */
export function parseNatsUrl(url: string): NatsTransportOptions {
  const m = /^nats:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?]+)\/?(?:\?(.*))?$/.exec(url);
  if (m === null) throw new ConfigurationError(`nats: not a nats:// URL: ${url}`);
  const params = new URLSearchParams(m[4] ?? "");
  const out: { -readonly [K in keyof NatsTransportOptions]: NatsTransportOptions[K] } = { servers: (m[3] ?? "").split(",").filter((s) => s !== "") };
  if (m[1] !== undefined && m[1] !== "") out.user = decodeURIComponent(m[1]);
  if (m[2] !== undefined) out.pass = decodeURIComponent(m[2]);
  const prefix = params.get("prefix");
  if (prefix !== null) out.prefix = prefix;
  const replicas = params.get("replicas");
  if (replicas !== null) out.replicas = Number(replicas);
  for (const key of params.keys()) {
    if (key !== "prefix" && key !== "replicas") throw new ConfigurationError(`nats: unknown URL option ${JSON.stringify(key)} (known: prefix, replicas)`);
  }
  return out;
}
