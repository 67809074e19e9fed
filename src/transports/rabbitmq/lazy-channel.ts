/**
 * A channel opened on first use and opened again after it closed (a channel
 * error such as a failed passive declare closes it; so does a lost
 * connection). Concurrent callers share one opening.
 */
import type { Channel, ChannelModel } from "amqplib";
import type { AmqpSession } from "./session.js";
import { closeChannel, logChannelErrors } from "./channel-log.js";

export class LazyChannel<C extends Channel> {
  private channel: Promise<C> | undefined;

  constructor(
    private readonly session: AmqpSession,
    private readonly create: (model: ChannelModel) => Promise<C>,
  ) {
    session.onLost(() => this.forget());
  }

  get(): Promise<C> {
    if (!this.channel) {
      const opening = (async () => {
        const { model } = await this.session.connection();
        const ch = await this.create(model);
        // The call that broke the channel rejects with the same error: debug here.
        logChannelErrors(ch, this.session.context, "declarations");
        ch.on("close", () => {
          if (this.channel === opening) this.channel = undefined;
        });
        return ch;
      })();
      // Forget a failed opening so the next get() tries again; the awaiting caller gets the error itself.
      opening.catch(() => {
        if (this.channel === opening) this.channel = undefined;
      });
      this.channel = opening;
    }
    return this.channel;
  }

  /** The next get() opens a new channel (this one failed or is in doubt). */
  forget(): void {
    this.channel = undefined;
  }

  async close(): Promise<void> {
    const ch = this.channel;
    this.channel = undefined;
    // A channel that failed to open has nothing to close; its opening's callers saw why.
    const live = await ch?.catch((err: unknown) => this.session.context.log.debug({ err }, "rabbitmq: a channel never opened"));
    await closeChannel(live ?? undefined, this.session.context, "declarations");
  }
}
