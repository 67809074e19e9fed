/**
 * Passive queue declares (ready count and consumers, or absent) on a channel
 * of their own: a probe of a missing queue closes its channel (404), which
 * must not take down the topology's or anyone else's channel with it.
 *
 * `declared()` reads a queue's type as the broker holds it, which AMQP has
 * no method for: a declare with an `x-queue-type` no broker supports is
 * refused with PRECONDITION_FAILED, and the refusal's text names the first
 * argument that differs and its current value ("inequivalent arg
 * 'x-queue-type' ... received 'missive-probe' but current is 'quorum'"). The
 * text is the only place the broker says it, so it is parsed here and
 * nowhere else. An argument compared before the type (durable,
 * x-max-priority, ...) is copied from the refusal and the declare repeated.
 * The type is unsupported, so a queue deleted in between is never created.
 */
import type { Channel } from "amqplib";
import { toAmqpError } from "./amqp-errors.js";
import type { AmqpSession } from "./session.js";
import { closeChannel, logChannelErrors } from "./channel-log.js";

export interface QueueInfo {
  readonly messageCount: number;
  readonly consumerCount: number;
}

/** A queue as declared on the broker. */
export interface DeclaredQueue {
  /** `quorum`, `classic`, `stream`, ...; `classic` also when the queue was declared without `x-queue-type` (see `typeArgument`). */
  readonly type: string | undefined;
  /** The `x-queue-type` argument as declared; undefined when the declare gave none (the broker's default type). */
  readonly typeArgument: string | undefined;
  readonly durable: boolean | undefined;
  /** Arguments the broker named on the way to the type (it names one per refusal). */
  readonly arguments: Readonly<Record<string, string | number>>;
  /** Why `type` is undefined. */
  readonly unknown?: string;
}

const PROBE_TYPE = "missive-probe";
const MAX_PROBES = 8;
const INEQUIVALENT = /inequivalent arg '([^']+)' for queue .*: received .* but current is (none|'([^']*)'|the value '([^']*)' of type '([^']*)')"?\s*$/;
const NUMERIC_TYPES = new Set(["byte", "short", "signedint", "long", "unsignedbyte", "unsignedshort", "unsignedint", "double", "float", "decimal"]);

export class QueueProbe {
  private channel: Channel | undefined;

  constructor(private readonly session: AmqpSession) {}

  /** Ready messages and consumers of `queue`, or undefined when it does not exist. Call one at a time. */
  async info(queue: string): Promise<QueueInfo | undefined> {
    const ch = await this.open();
    try {
      const ok = await ch.checkQueue(queue);
      return { messageCount: ok.messageCount, consumerCount: ok.consumerCount };
    } catch (err) {
      this.channel = undefined;
      if ((err as { code?: unknown }).code === 404) return undefined;
      throw toAmqpError(err, `rabbitmq: reading queue ${JSON.stringify(queue)}`);
    }
  }

  /** Whether `exchange` exists. */
  async exchangeExists(exchange: string): Promise<boolean> {
    const ch = await this.open();
    try {
      await ch.checkExchange(exchange);
      return true;
    } catch (err) {
      this.channel = undefined;
      if ((err as { code?: unknown }).code === 404) return false;
      throw toAmqpError(err, `rabbitmq: reading exchange ${JSON.stringify(exchange)}`);
    }
  }

  /** The queue's type and the arguments named on the way, or undefined when it does not exist. */
  async declared(queue: string): Promise<DeclaredQueue | undefined> {
    if (!(await this.info(queue))) return undefined;
    let durable = true;
    const args: Record<string, string | number> = {};
    for (let i = 0; i < MAX_PROBES; i++) {
      const ch = await this.open();
      try {
        await ch.assertQueue(queue, { durable, arguments: { ...args, "x-queue-type": PROBE_TYPE } });
        // Unreachable on a broker that refuses unknown types; say so rather than guess.
        return { type: undefined, typeArgument: undefined, durable, arguments: args, unknown: `the broker accepted x-queue-type=${PROBE_TYPE}` };
      } catch (err) {
        this.channel = undefined;
        const code = (err as { code?: unknown }).code;
        if (code === 404) return undefined;
        if (code !== 406) throw toAmqpError(err, `rabbitmq: reading the type of queue ${JSON.stringify(queue)}`);
        const match = INEQUIVALENT.exec(String((err as Error).message));
        if (!match) return { type: undefined, typeArgument: undefined, durable, arguments: args, unknown: `the broker's refusal did not name an argument: ${String((err as Error).message)}` };
        const [, name = "", none, quoted, value, valueType] = match;
        const current = none === "none" ? undefined : (quoted ?? value ?? "");
        if (name === "x-queue-type") return { type: current ?? "classic", typeArgument: current, durable, arguments: args };
        if (name === "durable") durable = current === "true";
        else if (current === undefined) delete args[name];
        else args[name] = valueType !== undefined && NUMERIC_TYPES.has(valueType) ? Number(current) : current;
      }
    }
    return { type: undefined, typeArgument: undefined, durable, arguments: args, unknown: `the broker named more than ${MAX_PROBES} differing arguments` };
  }

  async close(): Promise<void> {
    const ch = this.channel;
    this.channel = undefined;
    await closeChannel(ch, this.session.context, "queue probe");
  }

  private async open(): Promise<Channel> {
    if (this.channel) return this.channel;
    const { model } = await this.session.connection();
    const ch = await model.createChannel();
    logChannelErrors(ch, this.session.context, "queue probe");
    ch.on("close", () => {
      if (this.channel === ch) this.channel = undefined;
    });
    this.channel = ch;
    return ch;
  }
}
