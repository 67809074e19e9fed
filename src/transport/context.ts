/**
 * A transport's end of the TransportContext: the parts of a transport are
 * built before `connect(context)` hands it the bus's logger and reporter, so
 * they hold this slot, and `use` points it at whatever context arrives. Until
 * then (or for a transport used without a bus) it logs nowhere and reports
 * to no one: the no-op default the logging port promises.
 */
import { noopLogger, type Logger } from "../observability/logger.js";
import type { TransportContext, TransportEvent } from "./transport.js";

/** Logs nowhere, reports to no one. */
export const silentContext: TransportContext = Object.freeze({
  log: noopLogger,
  report: (): void => {},
});

export class ContextSlot implements TransportContext {
  private target: TransportContext = silentContext;

  /** Point the slot at `context` (the one connect received); `undefined` keeps the current one. */
  use(context: TransportContext | undefined): void {
    if (context) this.target = context;
  }

  get log(): Logger {
    return this.target.log;
  }

  report(event: TransportEvent): void {
    try {
      this.target.report(event);
    } catch (err) {
      // A reporter that throws must not break the transport path that reported.
      this.target.log.error({ err, event: event.kind }, "reporting a transport event failed");
    }
  }
}

/** A one-line reason for logs and events: the error's message, or the value as text. */
export function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
