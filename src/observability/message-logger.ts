/**
 * `ctx.log`: the consumer's logger with the message's id, type, group and
 * attempt on every line, so a handler's lines can be found per message
 * without repeating them. The handler's own fields win over these.
 *
 * Made for every delivery, so it is one small object that keeps what it
 * needs (no fields object, no child logger); the fields are put together
 * only when a line is logged.
 */
import type { Envelope } from "../envelope/envelope.js";
import { noopLogger, type Logger } from "./logger.js";

/** `log` with the message's fields on every line; the no-op logger stays itself (nothing to bind, nothing allocated). */
export function messageLogger(log: Logger, message: Pick<Envelope, "id" | "type">, group: string, attempt: number): Logger {
  return log === noopLogger ? noopLogger : new MessageLogger(log, message, group, attempt);
}

class MessageLogger implements Logger {
  constructor(
    private readonly log: Logger,
    private readonly message: Pick<Envelope, "id" | "type">,
    private readonly group: string,
    private readonly attempt: number,
  ) {}

  debug(obj: object, msg?: string): void { this.log.debug(this.with(obj), msg); }
  info(obj: object, msg?: string): void { this.log.info(this.with(obj), msg); }
  warn(obj: object, msg?: string): void { this.log.warn(this.with(obj), msg); }
  error(obj: object, msg?: string): void { this.log.error(this.with(obj), msg); }

  private with(obj: object): object {
    return { id: this.message.id, type: this.message.type, group: this.group, attempt: this.attempt, ...obj };
  }
}
