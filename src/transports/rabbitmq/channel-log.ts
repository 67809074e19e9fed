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
  close(): Promise<void>;
}

/** Log the channel's 'error' events, naming what the channel was for. */
export function logChannelErrors(ch: Closable, ctx: LogTarget, purpose: string, level: "debug" | "warn" = "debug"): void {
  ch.on("error", (err) => ctx.log[level]({ err, channel: purpose }, `rabbitmq: the ${purpose} channel was closed by an error`));
}

/**
 * Close a channel we are done with. Failing here means it was closed already
 * (the broker closed it, or the connection went): nothing is lost, so debug.
 */
export async function closeChannel(ch: Closable | undefined, ctx: LogTarget, purpose: string): Promise<void> {
  await ch?.close().catch((err: unknown) => ctx.log.debug({ err, channel: purpose }, `rabbitmq: closing the ${purpose} channel failed; it was closed already`));
}
