/**
 * A real transport behind a switch a test flips at any moment: `pass`;
 * `fail` (every publish rejects with ConnectionError, nothing stored);
 * `lose-confirm` (the batch is stored, then the publish rejects as if the
 * confirm was lost with the connection); `silent` (publishes wait unanswered
 * until the switch moves, then go on in the new mode).
 */
import { ConnectionError, type OutgoingMessage, type PublishResult, type Transport } from "../../src/index.js";

export type SwitchMode = "pass" | "fail" | "lose-confirm" | "silent";

export interface SwitchableTransport extends Transport {
  mode: SwitchMode;
  /** Every message the inner transport stored, in order (a message twice when it was stored twice). */
  readonly stored: OutgoingMessage[];
}

export function switchable(inner: Transport): SwitchableTransport {
  let mode: SwitchMode = "pass";
  let waiters: Array<() => void> = [];
  const stored: OutgoingMessage[] = [];
  return {
    name: inner.name,
    capabilities: inner.capabilities,
    stored,
    get mode(): SwitchMode {
      return mode;
    },
    set mode(m: SwitchMode) {
      mode = m;
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    },
    connect: () => inner.connect(),
    bind: (group, topics) => inner.bind(group, topics),
    subscribe: (options) => inner.subscribe(options),
    close: () => inner.close(),
    async publish(batch: readonly OutgoingMessage[]): Promise<PublishResult[]> {
      while (mode === "silent") await new Promise<void>((r) => waiters.push(r));
      if (mode === "fail") throw new ConnectionError("broker unreachable (test switch)");
      const results = await inner.publish(batch);
      stored.push(...batch.filter((_, i) => results[i] === undefined));
      if (mode === "lose-confirm") throw new ConnectionError("connection lost before the confirm (test switch)");
      return results;
    },
  };
}
