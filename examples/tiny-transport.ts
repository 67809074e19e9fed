/**
 * The smallest whole transport: in-process queues, the seam's core and no
 * ability (docs/transports/writing-a-transport.md counts its lines). No
 * native delay, dead letters, key order or leases: the runtime fills those
 * in. test/conformance/seam/tiny.seam.test.ts runs the seam suite on it.
 */
import { ClosedError, ConfigurationError, MessageTooLargeError, UnroutableError } from "missive";
import type { Delivery, OutgoingMessage, PublishResult, SubscribeOptions, Subscription, Transport, WireMessage } from "missive";

interface Row { readonly topic: string; readonly key: string | undefined; readonly wire: WireMessage; attempts: number; held: boolean }
interface Group { readonly rows: Row[]; readonly topics: Set<string>; readonly waiters: Set<() => void>; temporary: boolean }
/** The "broker": transports sharing one map behave like processes sharing one broker. */
export type TinyBroker = Map<string, Group>;

const MAX_BYTES = 1024 * 1024;

export function tinyTransport(broker: TinyBroker): Transport {
  let open = true;
  const holding = new Set<() => void>(); // give-backs of unsettled deliveries, run on close
  const groupOf = (name: string): Group => {
    let g = broker.get(name);
    if (!g) broker.set(name, (g = { rows: [], topics: new Set(), waiters: new Set(), temporary: false }));
    return g;
  };
  const wake = (g: Group): void => [...g.waiters].forEach((fn) => fn());
  const assertOpen = (): void => {
    if (!open) throw new ClosedError("tiny transport is closed");
  };

  function enqueue(m: OutgoingMessage): PublishResult {
    const size = m.wire.body.byteLength + Object.entries(m.wire.headers).reduce((n, [k, v]) => n + Buffer.byteLength(k + v), 0);
    if (size > MAX_BYTES) return new MessageTooLargeError(`tiny: message ${m.id} is ${size} bytes, the limit is ${MAX_BYTES}`);
    const targets = m.group !== undefined ? [broker.get(m.group)] : [...broker.values()].filter((g) => g.topics.has(m.topic));
    const groups = targets.filter((g): g is Group => g !== undefined);
    if (groups.length === 0) return new UnroutableError(`tiny: no group receives ${m.topic}`);
    for (const g of groups) {
      g.rows.push({ topic: m.topic, key: m.key, wire: m.wire, attempts: 0, held: false });
      wake(g);
    }
    return undefined;
  }

  function subscribe(options: SubscribeOptions): Subscription {
    const g = groupOf(options.group);
    options.topics.forEach((t) => g.topics.add(t));
    if (options.temporary) g.temporary = true;
    let closed = false;
    let unsettled = 0;

    const deliveryOf = (row: Row): Delivery => {
      let done = false;
      const finish = (): void => {
        done = true;
        unsettled--;
        holding.delete(giveBack);
        wake(g);
      };
      const giveBack = (): void => {
        row.held = false;
        finish();
      };
      holding.add(giveBack);
      const settle = async (apply: () => void): Promise<void> => {
        if (done) return; // settling twice is a no-op
        assertOpen();
        apply();
        finish();
      };
      return {
        topic: row.topic, group: options.group, wire: row.wire, key: row.key, attempt: row.attempts,
        ack: () => settle(() => g.rows.splice(g.rows.indexOf(row), 1)),
        release: () => settle(() => {
          row.held = false;
          row.attempts--; // a release is not an attempt
        }),
        retry: () => Promise.reject(new ConfigurationError("tiny: no nativeDelay, the runtime retries in-process")),
        deadLetter: () => Promise.reject(new ConfigurationError("tiny: no dead-letter store")),
      };
    };

    const take = (max: number): Delivery[] => {
      const room = Math.min(max, options.prefetch - unsettled);
      const out: Delivery[] = [];
      for (const row of g.rows) {
        if (out.length >= room) break;
        if (row.held) continue;
        row.held = true;
        row.attempts++;
        unsettled++;
        out.push(deliveryOf(row));
      }
      return out;
    };

    return {
      receive: (max, waitMs) => new Promise((resolve) => {
        const finish = (got: Delivery[]): void => {
          clearTimeout(timer);
          g.waiters.delete(tryTake);
          resolve(got);
        };
        const tryTake = (): void => {
          if (closed || !open) return finish([]);
          const got = take(max);
          if (got.length > 0) finish(got);
        };
        const timer = setTimeout(() => finish([]), waitMs);
        g.waiters.add(tryTake);
        tryTake();
      }),
      close: async () => {
        closed = true;
        if (g.temporary) broker.delete(options.group);
        wake(g);
      },
    };
  }

  return {
    name: "tiny",
    capabilities: { nativeDelay: false, ordering: "none", maxMessageBytes: MAX_BYTES },
    connect: async () => assertOpen(),
    bind: async (group, topics) => {
      assertOpen();
      topics.forEach((t) => groupOf(group).topics.add(t));
    },
    publish: async (batch) => {
      assertOpen();
      return batch.map(enqueue);
    },
    subscribe: async (options) => {
      assertOpen();
      return subscribe(options);
    },
    close: async () => {
      open = false;
      [...holding].forEach((giveBack) => giveBack()); // unsettled deliveries go back to their queues
    },
  };
}
