/**
 * `ctx.log`: the consumer's logger with the message's id, type, group and
 * attempt on every line, so a handler's lines can be found per message
 * without repeating them. The handler's own fields win over these.
 */
import { noopLogger, type Logger } from "./logger.js";

export interface MessageLogFields {
  readonly id: string;
  readonly type: string;
  readonly group: string;
  readonly attempt: number;
}

/** `log` with `fields` on every line; the no-op logger stays itself (nothing to bind, nothing allocated per line). */
export function messageLogger(log: Logger, fields: MessageLogFields): Logger {
  return log === noopLogger ? noopLogger : new MessageLogger(log, fields);
}

class MessageLogger implements Logger {
  constructor(private readonly log: Logger, private readonly fields: MessageLogFields) {}
  debug(obj: object, msg?: string): void { this.log.debug(this.with(obj), msg); }
  info(obj: object, msg?: string): void { this.log.info(this.with(obj), msg); }
  warn(obj: object, msg?: string): void { this.log.warn(this.with(obj), msg); }
  error(obj: object, msg?: string): void { this.log.error(this.with(obj), msg); }

  private with(obj: object): object {
    const { id, type, group, attempt } = this.fields;
    return { id, type, group, attempt, ...obj };
  }
}
