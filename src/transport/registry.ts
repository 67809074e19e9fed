/**
 * Transport registration: each transport's folder registers the URL schemes
 * it serves (`src/transports/<broker>/register.ts`), so the core holds no
 * table of brokers and a transport written outside this package plugs in the
 * same way (`registerTransport` is public). A registration loads its broker
 * client only when its scheme is used.
 */
import { ConfigurationError } from "../errors.js";
import type { InboxStore } from "../stores/inbox.js";
import type { Transport } from "./transport.js";

/** What opening a URL gives the bus. */
export interface OpenedTransport {
  readonly transport: Transport;
  /** The transport's own inbox store, when the broker can keep one (SQLite's file); the bus uses it for `idempotency: "inbox"`. */
  readonly inbox?: InboxStore<unknown>;
}

export interface OpenOptions {
  /**
   * Create what the URL names when it does not exist (a SQLite file). Default
   * `true`; operators' tools pass `false` so a mistyped URL is an error.
   */
  readonly create?: boolean;
}

export interface TransportRegistration {
  /** The transport's name (`rabbitmq`), shown in errors. */
  readonly name: string;
  /** Lower-case URL schemes without `://` (`amqp`, `amqps`). */
  readonly schemes: readonly string[];
  /** Build the transport for `url` (not connected yet). Load the broker client here, lazily. */
  open(url: string, options: OpenOptions): Promise<OpenedTransport>;
}

const byScheme = new Map<string, TransportRegistration>();

const SCHEME = /^[a-z][a-z0-9+.-]*$/;

/**
 * Register a transport's URL schemes. Registering the same registration again
 * is a no-op; a scheme already served by another transport is a
 * ConfigurationError (two packages fighting over `amqp://` must not be silent).
 */
export function registerTransport(registration: TransportRegistration): void {
  for (const scheme of registration.schemes) {
    if (!SCHEME.test(scheme)) throw new ConfigurationError(`transport ${registration.name}: invalid URL scheme ${JSON.stringify(scheme)} (lower case, no "://")`);
    const existing = byScheme.get(scheme);
    if (existing !== undefined && existing !== registration) {
      throw new ConfigurationError(`URL scheme ${scheme}:// is already registered by the ${existing.name} transport`);
    }
  }
  for (const scheme of registration.schemes) byScheme.set(scheme, registration);
}

/** The registration serving `scheme`, if any. */
export function registrationFor(scheme: string): TransportRegistration | undefined {
  return byScheme.get(scheme.toLowerCase());
}

/** Every registered scheme, sorted, for error messages. */
export function registeredSchemes(): string[] {
  return [...byScheme.keys()].sort();
}
