/**
 * Options of the Redis Streams transport, and the one function that applies
 * their defaults and validates them (STYLE.md §7).
 */
import { ConfigurationError } from "../../errors.js";

export interface RedisTransportOptions {
  /** `redis://` or `rediss://` URL of the server (user, password and database number as Redis URLs carry them). Required. */
  readonly url: string;
  /** Prefix of every key missive makes, so several buses can share a server. Default `missive:`. */
  readonly prefix?: string;
  /** Largest message accepted (headers + body), bytes. Default 1 MiB (Redis takes up to 512 MiB, but a stream entry that size stalls every reader). */
  readonly maxMessageBytes?: number;
  /** How long a command on the shared connection (publish, ack, admin) waits for its reply, ms; blocking reads have their own connections and no timeout. Default 10000. */
  readonly commandTimeoutMs?: number;
  /** How often a subscription trims its topic streams below what every group acknowledged, ms. Default 5000. */
  readonly trimIntervalMs?: number;
  /** Create streams and groups when missing. Default `true`; the CLI passes `false`. */
  readonly create?: boolean;
}

export interface ResolvedRedisOptions {
  readonly url: string;
  readonly prefix: string;
  readonly maxMessageBytes: number;
  readonly commandTimeoutMs: number;
  readonly trimIntervalMs: number;
  readonly create: boolean;
}

export const REDIS_DEFAULTS = {
  prefix: "missive:",
  maxMessageBytes: 1024 * 1024,
  commandTimeoutMs: 10_000,
  trimIntervalMs: 5_000,
  create: true,
} as const;

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new ConfigurationError(`redis: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

export function resolveRedisOptions(options: RedisTransportOptions): ResolvedRedisOptions {
  if (!/^rediss?:\/\//i.test(options.url)) throw new ConfigurationError(`redis: not a redis:// or rediss:// URL: ${redactRedisUrl(options.url)}`);
  const prefix = options.prefix ?? REDIS_DEFAULTS.prefix;
  if (prefix === "") throw new ConfigurationError("redis: prefix must not be empty");
  return {
    url: options.url,
    prefix,
    maxMessageBytes: positive("maxMessageBytes", options.maxMessageBytes ?? REDIS_DEFAULTS.maxMessageBytes),
    commandTimeoutMs: positive("commandTimeoutMs", options.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs),
    trimIntervalMs: positive("trimIntervalMs", options.trimIntervalMs ?? REDIS_DEFAULTS.trimIntervalMs),
    create: options.create ?? REDIS_DEFAULTS.create,
  };
}

/**
 * `redis[s]://[user:pass@]host:port[/db][?prefix=…]`: the server, and the
 * key prefix missive's streams live under (taken out of the URL handed to
 * the client).
 */
export function parseRedisUrl(url: string): RedisTransportOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new ConfigurationError(`redis: not a URL: ${redactRedisUrl(url)}`, { cause: err });
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") throw new ConfigurationError(`redis: not a redis:// or rediss:// URL: ${redactRedisUrl(url)}`);
  const prefix = parsed.searchParams.get("prefix");
  for (const key of parsed.searchParams.keys()) {
    if (key !== "prefix") throw new ConfigurationError(`redis: unknown URL option ${JSON.stringify(key)} (known: prefix)`);
  }
  parsed.search = "";
  return { url: parsed.toString(), ...(prefix === null ? {} : { prefix }) };
}

/** The URL without its password, for errors and logs. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/i, "$1***@");
}
