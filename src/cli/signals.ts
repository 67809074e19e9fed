/**
 * SIGINT and SIGTERM for long-running commands (`queues --watch`, `tail`,
 * bulk replay): the first one asks the command to stop cleanly (it closes
 * its transport and exits 0, or reports what it did); a second one exits at
 * once with 130.
 */

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
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
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
