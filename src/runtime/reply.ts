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

export function replyContext(producer: Producer, cause: Envelope, log: Logger): Pick<HandlerContext, "publish" | "reply"> {
  const correlationId = cause.correlationid ?? cause.id;
  return {
    publish: (definition, data, options?: PublishOptions) =>
      producer.publish(definition as MessageDefinition<string, unknown, unknown>, data, {
        correlationId,
        causationId: cause.id,
        // With a span active (the process span, under an SDK), the send span continues this trace itself;
        // without one, the cause's trace context is carried over so the trace still crosses this hop.
        ...(cause.traceparent !== undefined && !hasActiveSpan() ? { traceparent: cause.traceparent } : {}),
        ...options,
      }),
    reply: async (definition, data) => {
      if (cause.replyto === undefined) {
        log.warn({ id: cause.id, type: cause.type }, "ctx.reply on a message that asked for no reply; ignored");
        return;
      }
      try {
        await producer.publish(definition as MessageDefinition<string, unknown, unknown>, data, { correlationId, causationId: cause.id }, { topic: cause.replyto });
      } catch (err) {
        if (isMissiveError(err) && err.code === ErrorCodes.UNROUTABLE) {
          log.warn({ id: cause.id, replyto: cause.replyto }, "the requester is gone; reply dropped");
          return;
        }
        throw err;
      }
    },
  };
}
