/**
 * The composition root: `missive(options)` turns a transport URL into a
 * transport (loading its module, and so its broker client, only when that
 * scheme is used) and builds the bus. The runtime itself knows no broker.
 */
import { ConfigurationError, ConnectionError } from "./errors.js";
import { BusImpl, type Bus } from "./runtime/bus.js";
import { busSettings, type BusOptions } from "./runtime/bus-options.js";
import { connectLate } from "./runtime/late-connect.js";
import type { InboxStore } from "./stores/inbox.js";
import type { Transport } from "./transport/transport.js";
import { redact } from "./redact.js";

export { redact };

interface Resolved {
  readonly transport: Transport;
  readonly inbox: InboxStore<unknown> | undefined;
}

const memoryInboxes = new WeakMap<object, InboxStore<unknown>>();

/** Each scheme loads its transport module lazily: `missive` alone never loads a broker client. */
const SCHEMES: Readonly<Record<string, (url: string, options: ResolveOptions) => Promise<Resolved>>> = {
  sqlite: async (url, options) => {
    const mod = await import("./transports/sqlite/index.js");
    const transport = mod.sqliteTransport({ ...mod.parseSqliteUrl(url), ...(options.create === undefined ? {} : { create: options.create }) });
    return { transport, inbox: mod.sqliteInbox(transport) as InboxStore<unknown> };
  },
  amqp: (url) => rabbitmq(url),
  amqps: (url) => rabbitmq(url),
  memory: async (url) => {
    const mod = await import("./transports/memory/index.js");
    const name = url.slice("memory://".length) || "default";
    const broker = mod.memoryBrokerNamed(name);
    // One inbox per named broker: buses on one broker share it, as they would share a database.
    let inbox = memoryInboxes.get(broker);
    if (!inbox) memoryInboxes.set(broker, (inbox = mod.memoryInbox() as InboxStore<unknown>));
    return { transport: broker.transport(), inbox };
  },
};

/** RabbitMQ keeps no inbox of its own: pass one (`inbox:` in the bus options) for effectively-once handlers. */
async function rabbitmq(url: string): Promise<Resolved> {
  const mod = await import("./transports/rabbitmq/index.js");
  return { transport: mod.rabbitmqTransport(url), inbox: undefined };
}

export interface ResolveOptions {
  /**
   * Create what the URL names when it does not exist (a SQLite file). Default
   * `true`; operators' tools pass `false` so a mistyped URL is an error.
   */
  readonly create?: boolean;
}

/** Build a transport from its URL, with the transport's own inbox store when it has one. */
export async function resolveTransport(url: string, options: ResolveOptions = {}): Promise<Resolved> {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  const scheme = m?.[1]?.toLowerCase();
  const factory = scheme === undefined ? undefined : SCHEMES[scheme];
  if (!factory) {
    throw new ConfigurationError(`unsupported transport URL scheme in ${JSON.stringify(redact(url))}; supported: ${Object.keys(SCHEMES).map((s) => s + "://").join(", ")}`);
  }
  return factory(url, options);
}


/**
 * Create a bus. Connects before resolving, so a wrong URL or refused
 * credentials fail here with a typed error, not at the first publish. With
 * a spool, an unreachable broker is an outage like any other: the bus
 * starts, publishes go to the spool, and the transport connects in the
 * background (runtime/late-connect.ts).
 */
export async function missive(options: BusOptions): Promise<Bus> {
  const settings = busSettings(options);
  const resolved: Resolved = typeof options.transport === "string"
    ? await resolveTransport(options.transport)
    : { transport: options.transport, inbox: undefined };
  const spoolSettings = settings.producer.spool;
  let unreachable: ConnectionError | undefined;
  try {
    await resolved.transport.connect();
  } catch (err) {
    if (!spoolSettings || !(err instanceof ConnectionError)) throw err;
    unreachable = err;
  }
  if (!spoolSettings) return new BusImpl(resolved.transport, settings, options.inbox ?? resolved.inbox);
  // The spool's SQLite file is opened only when asked for.
  const { openSqliteSpool } = await import("./stores/spool/index.js");
  let spool;
  try {
    spool = openSqliteSpool({ path: spoolSettings.path, maxMessages: spoolSettings.maxMessages, maxBytes: spoolSettings.maxBytes });
  } catch (err) {
    await resolved.transport.close();
    throw err;
  }
  const breaker = settings.producer.breaker;
  const transport = unreachable === undefined
    ? resolved.transport
    : connectLate(resolved.transport, unreachable, { baseMs: breaker.cooldownMs, maxMs: breaker.maxCooldownMs }, settings.random, settings.logger).transport;
  return new BusImpl(transport, settings, options.inbox ?? resolved.inbox, spool);
}
