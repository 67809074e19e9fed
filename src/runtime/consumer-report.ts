/**
 * How a bus tells of its consumers' lives: a `consumer` status event for
 * every change of state, and a consumer that failed said out loud. With a
 * logger it is an error there (the stage that failed logs the details); with
 * none, one line on stderr, because a consumer that stopped consuming while
 * nobody is told is the one failure a service cannot afford to miss.
 */
import { noopLogger, type Logger } from "../observability/logger.js";
import type { ConsumerStateListener } from "./consumer-lifecycle.js";
import type { StatusEvents } from "./status.js";

export function consumerReporter(group: string, events: StatusEvents, log: Logger): ConsumerStateListener {
  return (state, error) => {
    const at = Date.now();
    if (state !== "failed") return events.emit({ type: "consumer", group, state, at });
    const reason = describe(error);
    events.emit({ type: "consumer", group, state, at, reason });
    if (log === noopLogger) process.stderr.write(`missive: consumer of group "${group}" stopped: ${reason}\n`);
    else log.error({ err: error, group }, "consumer stopped");
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `[${code}] ${error.message}` : error.message;
  }
  return String(error);
}
