/**
 * What a handler can send: messages caused by the one it handles, and the
 * reply to a request. Causation and correlation are carried automatically.
 */
import { ErrorCodes, isMissiveError } from "../errors.js";
import type { Envelope } from "../envelope/envelope.js";
import type { MessageDefinition } from "../contract/define-message.js";
import type { Logger } from "../observability/logger.js";
import { hasActiveSpan } from "../observability/telemetry.js";
import type { HandlerContext } from "./handler-context.js";
import type { Producer } from "./producer.js";
import type { PublishOptions } from "./publish-options.js";

/**
 * `ctx.publish` for a handler of `cause`. The context's functions are made by
 * factories rather than as named properties of an object: one closure each
 * per message, and no wrapper object (a named function value costs a
 * `name` definition per message under a keep-names transpiler, as tsx is).
 */
export function publisherFor(producer: Producer, cause: Envelope): HandlerContext["publish"] {
  return (definition, data, options?: PublishOptions) =>
    producer.publish(definition as MessageDefinition<string, unknown, unknown>, data, {
      correlationId: cause.correlationid ?? cause.id,
      causationId: cause.id,
      // With a span active (the process span, under an SDK), the send span continues this trace itself;
      // without one, the cause's trace context is carried over so the trace still crosses this hop.
      ...(cause.traceparent !== undefined && !hasActiveSpan() ? { traceparent: cause.traceparent } : {}),
      ...options,
    });
}

/** `ctx.reply` for a handler of `cause`: answers its `replyto`. */
export function replierFor(producer: Producer, cause: Envelope, log: Logger): HandlerContext["reply"] {
  return async (definition, data) => {
    if (cause.replyto === undefined) {
      log.warn({ id: cause.id, type: cause.type }, "ctx.reply on a message that asked for no reply; ignored");
      return;
    }
    try {
      await producer.publish(definition as MessageDefinition<string, unknown, unknown>, data, { correlationId: cause.correlationid ?? cause.id, causationId: cause.id }, { topic: cause.replyto });
    } catch (err) {
      if (isMissiveError(err) && err.code === ErrorCodes.UNROUTABLE) {
        log.warn({ id: cause.id, replyto: cause.replyto }, "the requester is gone; reply dropped");
        return;
      }
      throw err;
    }
  };
}
