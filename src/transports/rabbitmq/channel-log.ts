/**
 * Where a channel's errors go. amqplib emits 'error' on a channel the broker
 * closed (and crashes the process if nobody listens), then 'close'. Most
 * callers also see the same error as the rejection of the call that caused
 * it, so the event is worth a debug line only; a channel whose failures have
 * no caller to reject (the publish channel's confirms, a consumer's pushes)
 * logs it at warn, or the broker's reason is lost.
 */
import type { Logger } from "../../observability/logger.js";

/** Anything with a logger read at call time (the transport's ContextSlot). */
interface LogTarget {
  readonly log: Logger;
}

interface Closable {
  on(event: "error", listener: (err: unknown) => void): unknown;
  once(event: "close", listener: () => void): unknown;
  removeListener(event: "close", listener: () => void): unknown;
  close(): Promise<void>;
}

/** A close the broker has not answered by then will not be: the channel is treated as gone. */
export const CLOSE_WAIT_MS = 5000;

/** Log the channel's 'error' events, naming what the channel was for. */
export function logChannelErrors(ch: Closable, ctx: LogTarget, purpose: string, level: "debug" | "warn" = "debug"): void {
  ch.on("error", (err) => ctx.log[level]({ err, channel: purpose }, `rabbitmq: the ${purpose} channel was closed by an error`));
}

/**
 * Close a channel we are done with. Failing here means it was closed already
 * (the broker closed it, or the connection went): nothing is lost, so debug.
 *
 * Bounded: amqplib's close() waits for the broker's close-ok and never
 * settles when the connection dies first (the channel only emits 'close').
 * Awaited inside a rebalance or a join, that left an ordered subscription
 * rebalancing for ever after a broker restart, consuming nothing and saying
 * nothing (the own-node restart fault test). So it also ends on the
 * channel's 'close' event, or after CLOSE_WAIT_MS (logged at warn).
 */
export async function closeChannel(ch: Closable | undefined, ctx: LogTarget, purpose: string, waitMs = CLOSE_WAIT_MS): Promise<void> {
  if (!ch) return;
  let timer: NodeJS.Timeout | undefined;
  let onClose: (() => void) | undefined;
  const gone = new Promise<"gone">((resolve) => {
    onClose = () => resolve("gone");
    ch.once("close", onClose);
  });
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), waitMs)));
  const closing = ch.close().then(
    () => "closed" as const,
    (err: unknown) => {
      ctx.log.debug({ err, channel: purpose }, `rabbitmq: closing the ${purpose} channel failed; it was closed already`);
      return "closed" as const;
    },
  );
  const how = await Promise.race([closing, gone, late]);
  clearTimeout(timer);
  if (onClose) ch.removeListener("close", onClose);
  if (how === "late") ctx.log.warn({ channel: purpose, waitMs }, `rabbitmq: the broker did not answer closing the ${purpose} channel in time; it is given up`);
}
