/**
 * SIGINT, SIGTERM and SIGHUP for long-running commands (`queues --watch`,
 * `tail`, bulk replay, spool flush): the first one asks the command to stop
 * cleanly (it closes its transport, removes what it made for itself such as
 * tail's temporary group, and exits 0, or reports what it did); a second one
 * exits at once with 130. SIGHUP is there because a closed terminal or a
 * supervisor's reload sends it, and its default (die at once) would leave a
 * tail's temporary group behind.
 */

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export interface StopSignal {
  readonly signal: AbortSignal;
  dispose(): void;
}

export function stopOnSignals(): StopSignal {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  for (const name of SIGNALS) process.on(name, onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const name of SIGNALS) process.off(name, onSignal);
    },
  };
}

/** Wait `ms`, or less when `signal` aborts first. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
