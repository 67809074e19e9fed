/**
 * The transport's ping (BrokerPing): the broker would take a publish now.
 * A connection that looks open may be a dead one whose heartbeat has not
 * timed out yet (a blackholed network), so the ping makes a round trip: it
 * opens and closes a channel, within a bound. A broker blocking publishers
 * (a resource alarm) answers, but would not take a publish: not up.
 */
import { ConnectionError } from "../../errors.js";
import { toAmqpError } from "./amqp-errors.js";
import { closeChannel, logChannelErrors } from "./channel-log.js";
import type { AmqpSession } from "./session.js";

/** How long a ping waits for the connection and the round trip, ms. */
export const PING_WAIT_MS = 5000;

export async function pingBroker(session: AmqpSession, waitMs: number): Promise<void> {
  const { model } = await session.connection(waitMs);
  const blocked = session.blocked;
  if (blocked !== undefined) throw new ConnectionError(`rabbitmq: the broker blocks publishing (${blocked})`);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectionError(`rabbitmq: the broker did not answer a ping within ${waitMs} ms`)), waitMs);
  });
  try {
    const opening = model.createChannel();
    const ch = await Promise.race([opening, timeout]).catch((err: unknown) => {
      // A channel that opens after the deadline is closed, not leaked.
      void opening.then(
        (late) => closeChannel(late, session.context, "ping"),
        (lateErr: unknown) => session.context.log.debug({ err: lateErr }, "rabbitmq: a ping's channel failed to open after its deadline"),
      );
      throw err;
    });
    logChannelErrors(ch, session.context, "ping");
    await closeChannel(ch, session.context, "ping");
  } catch (err) {
    throw err instanceof ConnectionError ? err : toAmqpError(err, "rabbitmq: ping");
  } finally {
    clearTimeout(timer);
  }
}
