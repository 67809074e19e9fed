/**
 * Starting while the broker is down. A producer with a spool promises never
 * to drop, and that must hold for a service (re)started during an outage as
 * much as for one already running: its publishes belong in the spool, not in
 * a failed start. So when the first connect fails with a ConnectionError and
 * a spool is configured, missive() wraps the transport in this:
 *
 * - `publish` rejects with a ConnectionError at once until connected: the
 *   producer reads that as an outage and spools (a publish with
 *   `spool: false` waits for the broker up to its timeout, as in any outage);
 * - everything else (`bind`, `subscribe`, `stats`, dead letters) waits for
 *   the connection: a consumer starts when the broker appears;
 * - a background loop connects with full-jitter backoff, for as long as it
 *   takes (each attempt bounded by the transport's own connect timeout).
 *
 * Refused credentials and bad configuration are not outages: missive() still
 * fails with them at once, and a later attempt that meets them is logged and
 * retried at the longest backoff (someone may be fixing the broker).
 */
import { ClosedError, ConnectionError, isRetryable } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { forwardAbilities } from "../transport/forward-abilities.js";
import type { Transport, TransportContext } from "../transport/transport.js";
import { fullJitterDelay, sleep, type BackoffOptions, type Random } from "./backoff.js";

export interface LateConnect {
  readonly transport: Transport;
  /** Resolves once connected (or the transport was closed first). */
  readonly connected: Promise<void>;
}

export function connectLate(inner: Transport, firstError: unknown, backoff: BackoffOptions, random: Random, log: Logger, context: TransportContext): LateConnect {
  let live = false;
  let closed = false;
  let lastError: unknown = firstError;
  const stop = new AbortController();
  let markConnected!: () => void;
  const connected = new Promise<void>((resolve) => (markConnected = resolve));

  const loop = async (): Promise<void> => {
    log.warn({ err: firstError }, `${inner.name}: not reachable at start; publishing to the spool and connecting in the background`);
    for (let attempt = 1; !stop.signal.aborted; attempt++) {
      const fatal = !isRetryable(lastError);
      await sleep(fullJitterDelay(fatal ? 30 : attempt, backoff, random), stop.signal);
      if (stop.signal.aborted) break;
      try {
        await inner.connect(context);
        live = true;
        log.info({ attempts: attempt }, `${inner.name}: connected`);
        break;
      } catch (err) {
        lastError = err;
        if (!isRetryable(err)) log.error({ err }, `${inner.name}: connecting failed, not as an outage; retrying`);
      }
    }
    markConnected();
  };
  void loop();

  /** Wait for the connection; a close meanwhile rejects. */
  const ready = async (): Promise<void> => {
    if (!live) await connected;
    if (closed) throw new ClosedError(`the ${inner.name} transport is closed`);
  };
  const notYet = (): ConnectionError => {
    const why = lastError instanceof Error ? lastError.message : String(lastError);
    return new ConnectionError(`${inner.name}: not connected yet (${why})`, { cause: lastError });
  };

  const transport: Transport = {
    name: inner.name,
    capabilities: inner.capabilities,
    connect: ready,
    publish: (batch) => (live ? inner.publish(batch) : Promise.reject(notYet())),
    bind: async (group, topics) => {
      await ready();
      return inner.bind(group, topics);
    },
    subscribe: async (options) => {
      await ready();
      return inner.subscribe(options);
    },
    close: async () => {
      closed = true;
      stop.abort();
      // Waiters go now; an attempt still under way ends against the closed transport.
      markConnected();
      await inner.close();
    },
  };
  // Every ability the inner transport has, each call after the connection (abilities.ts lists them all).
  forwardAbilities(transport, inner, async (call) => {
    await ready();
    return call();
  });
  return { transport, connected };
}

