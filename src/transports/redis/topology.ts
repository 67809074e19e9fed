/**
 * Bindings: a group bound to a topic is a consumer group on the topic's
 * stream, made at `$` (a group bound later gets what is published after
 * it); a group's own stream is read from its start. Sets record the
 * bindings for `missive queues`. Removing a temporary group removes its
 * consumer groups, and a stream with its last group (scripts.ts UNBIND),
 * so its topic is unroutable again.
 */
import { ConfigurationError } from "../../errors.js";
import type { RedisNames } from "./names.js";
import { isReply } from "./reply-error.js";
import type { ScriptedRedis } from "./scripts.js";

export class Topology {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly names: RedisNames,
    private readonly create: boolean,
  ) {}

  /**
   * Make the group's consumer groups and record the binding. Idempotent.
   * With `create` off only `force` (`missive topology`) and temporary groups
   * (`missive tail`, request-reply: they are made and removed by their
   * subscription) make them.
   */
  async bind(group: string, topics: readonly string[], options: { temporary?: boolean; force?: boolean } = {}): Promise<void> {
    if (!this.create && options.force !== true && options.temporary !== true) {
      await this.expect(group, topics);
      return;
    }
    await this.createGroup(this.names.groupStream(group), group, "0");
    for (const topic of topics) await this.createGroup(this.names.topicStream(topic), group, "$");
    const batch = this.redis.multi().sadd(this.names.groups(), group);
    if (topics.length > 0) batch.sadd(this.names.topicsOf(group), ...topics);
    if (options.temporary === true) batch.sadd(this.names.temporary(), group);
    await batch.exec();
  }

  /** Remove the group's consumer groups and its records (temporary groups, when their subscription closes). */
  async unbind(group: string, topics: readonly string[]): Promise<void> {
    for (const topic of topics) await this.redis.missiveUnbind(this.names.topicStream(topic), group);
    await this.redis.multi()
      .del(this.names.groupStream(group), this.names.topicsOf(group))
      .srem(this.names.groups(), group)
      .srem(this.names.temporary(), group)
      .exec();
  }

  /** With `create` off: the group must exist on every stream it reads. */
  private async expect(group: string, topics: readonly string[]): Promise<void> {
    for (const stream of [this.names.groupStream(group), ...topics.map((t) => this.names.topicStream(t))]) {
      const groups = (await this.redis.exists(stream)) === 0 ? [] : ((await this.redis.call("XINFO", "GROUPS", stream)) as unknown[][]);
      if (!groups.some((g) => g[1] === group)) {
        throw new ConfigurationError(`redis: group ${JSON.stringify(group)} does not exist on ${stream} and create is off: run \`missive topology\` first`);
      }
    }
  }

  private async createGroup(stream: string, group: string, start: "0" | "$"): Promise<void> {
    try {
      await this.redis.xgroup("CREATE", stream, group, start, "MKSTREAM");
    } catch (err) {
      // BUSYGROUP: bound already; binding is idempotent.
      if (isReply(err, "BUSYGROUP")) return;
      throw err;
    }
  }
}
