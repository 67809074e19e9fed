/**
 * A channel opened on first use and opened again after it closed (a channel
 * error such as a failed passive declare closes it; so does a lost
 * connection). Concurrent callers share one opening.
 */
import type { Channel, ChannelModel } from "amqplib";
import type { AmqpSession } from "./session.js";

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
        ch.on("error", () => undefined);
        ch.on("close", () => {
          if (this.channel === opening) this.channel = undefined;
        });
        return ch;
      })();
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
    await (await ch?.catch(() => undefined))?.close().catch(() => undefined);
  }
}
