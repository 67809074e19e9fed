/**
 * A real transport whose deliveries refuse to settle on demand: while a
 * message id is in `refuse`, its deliveries' ack, retry and deadLetter reject
 * with ConnectionError (and release too for ids in `refuseRelease`); every
 * other call goes to the real delivery. Everything else (abilities such as
 * native dead letters and queue stats included) is the inner transport's.
 */
import { ConnectionError, type Delivery, type Subscription, type Transport } from "../../src/index.js";

export interface RefusingTransport {
  readonly transport: Transport;
  /** Message ids whose ack/retry/deadLetter reject, with how many more refusals each (Infinity: until removed). */
  readonly refuse: Map<string, number>;
  /** Message ids whose release rejects too, while listed. */
  readonly refuseRelease: Set<string>;
  /** Settles refused so far, by operation. */
  readonly refused: { ack: number; retry: number; deadLetter: number; release: number };
}

type Operation = "ack" | "retry" | "deadLetter" | "release";

export function refusingSettles(inner: Transport): RefusingTransport {
  const refuse = new Map<string, number>();
  const refuseRelease = new Set<string>();
  const refused = { ack: 0, retry: 0, deadLetter: 0, release: 0 };
  const idOf = (d: Delivery): string => d.wire.headers["ce-id"] ?? "";
  const refuses = (d: Delivery, op: Operation): boolean => {
    const id = idOf(d);
    if (op === "release") return refuseRelease.has(id);
    const left = refuse.get(id);
    if (left === undefined || left <= 0) return false;
    refuse.set(id, left - 1);
    return true;
  };
  const wrapDelivery = (d: Delivery): Delivery =>
    new Proxy(d, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop, target);
        if (prop === "ack" || prop === "retry" || prop === "deadLetter" || prop === "release") {
          const op: Operation = prop;
          return (...args: unknown[]): Promise<void> => {
            if (refuses(target, op)) {
              refused[op]++;
              return Promise.reject(new ConnectionError(`test: the broker refused ${op} of ${idOf(target)}`));
            }
            return (value as (...a: unknown[]) => Promise<void>).apply(target, args);
          };
        }
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  const wrapSubscription = (s: Subscription): Subscription =>
    new Proxy(s, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop, target);
        if (prop === "receive") {
          return async (max: number, waitMs: number): Promise<Delivery[]> => (await target.receive(max, waitMs)).map(wrapDelivery);
        }
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  const transport = new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (prop === "subscribe") return async (options: Parameters<Transport["subscribe"]>[0]) => wrapSubscription(await target.subscribe(options));
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { transport, refuse, refuseRelease, refused };
}
