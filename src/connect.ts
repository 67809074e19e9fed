/**
 * The composition root: `missive(options)` turns a transport URL into a
 * transport through the registered schemes (transport/registry.ts; each
 * transport's folder registers its own, and loads its broker client only when
 * its scheme is used) and builds the bus. It knows no broker.
 */
import { ConfigurationError, ConnectionError } from "./errors.js";
import { BusImpl, type Bus } from "./runtime/bus.js";
import { busSettings, type BusOptions, type BusSettings } from "./runtime/bus-options.js";
import type { TransportInbox } from "./runtime/inbox-handles.js";
import { missingInboxError } from "./runtime/inbox-hint.js";
import type { InboxStore } from "./stores/inbox.js";
import type { Transport } from "./transport/transport.js";
import { connectLate } from "./runtime/late-connect.js";
import { registeredSchemes, registrationFor, type OpenedTransport, type OpenOptions } from "./transport/registry.js";
import { StatusEvents, transportContext } from "./runtime/status.js";
import { redact } from "./redact.js";

export { redact };

/** Build a transport from its URL (not connected), with the transport's own inbox store when it has one. */
export async function resolveTransport(url: string, options: OpenOptions = {}): Promise<OpenedTransport> {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  const registration = m?.[1] === undefined ? undefined : registrationFor(m[1]);
  if (!registration) {
    throw new ConfigurationError(`unsupported transport URL scheme in ${JSON.stringify(redact(url))}; supported: ${registeredSchemes().map((s) => s + "://").join(", ")}`);
  }
  return registration.open(url, options);
}

/**
 * Create a bus. Connects before resolving, so a wrong URL or refused
 * credentials fail here with a typed error, not at the first publish. With
 * a spool, an unreachable broker is an outage like any other: the bus
 * starts, publishes go to the spool, and the transport connects in the
 * background (runtime/late-connect.ts).
 *
 * An inbox that cannot work fails here too, with what to do: an `inbox`
 * store whose table is missing (its `check()`), or `idempotency: "inbox"`
 * on a bus that has no inbox. The bus's type carries its inbox's handle
 * (the `inbox` store's, else the URL scheme's: inbox-handles.ts), so
 * `ctx.transaction` is typed with the string form `"inbox"` too.
 */
export async function missive<const TTransport extends string | Transport, TInbox = TransportInbox<TTransport>>(
  options: BusOptions<TInbox> & { readonly transport: TTransport },
): Promise<Bus<TInbox>> {
  const settings = busSettings(options);
  const resolved: OpenedTransport = typeof options.transport === "string"
    ? await resolveTransport(options.transport)
    : { transport: options.transport };
  const inbox = options.inbox ?? resolved.inbox;
  try {
    await checkInbox(settings, inbox, resolved.transport.name);
  } catch (err) {
    // A transport this call built from a URL is this call's to close; a transport object stays its owner's.
    if (typeof options.transport === "string") await closeQuietly(resolved.transport, settings);
    throw err;
  }
  const spoolSettings = settings.producer.spool;
  // Created before the bus so what the transport reports while connecting reaches the bus's listeners.
  const events = new StatusEvents(settings.logger);
  const context = transportContext(resolved.transport.name, events, settings.logger);
  let unreachable: ConnectionError | undefined;
  try {
    await resolved.transport.connect(context);
  } catch (err) {
    if (!spoolSettings || !(err instanceof ConnectionError)) throw err;
    unreachable = err;
  }
  if (!spoolSettings) return new BusImpl<TInbox>(resolved.transport, settings, inbox, undefined, events);
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
    : connectLate(resolved.transport, unreachable, { baseMs: breaker.cooldownMs, maxMs: breaker.maxCooldownMs }, settings.random, settings.logger, context).transport;
  return new BusImpl<TInbox>(transport, settings, inbox, spool, events);
}

/** What can be known about the inbox before the transport connects: that there is one when asked for, and that its table exists. */
async function checkInbox(settings: BusSettings, inbox: InboxStore<unknown> | undefined, transport: string): Promise<void> {
  if (settings.idempotency === "inbox" && inbox === undefined) throw missingInboxError(transport, { bus: true });
  // Rejects with the migration to run when the table is missing; a database only unreachable now passes (inbox-check.ts).
  await inbox?.check?.();
}

async function closeQuietly(transport: Transport, settings: BusSettings): Promise<void> {
  try {
    await transport.close();
  } catch (err) {
    // The error being thrown is the one the caller needs; this one is only worth a line.
    settings.logger.warn({ err, transport: transport.name }, "closing the transport of a bus that failed to start failed");
  }
}
