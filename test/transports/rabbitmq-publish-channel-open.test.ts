/**
 * Channel writes of the RabbitMQ publisher are serial (a key is never
 * reordered), so a publish channel whose opening never settles would hold
 * every later publish until the connection's heartbeat gave up on it (two
 * heartbeats: minutes with a long one). The opening is bounded by the
 * publish's own confirm deadline instead, so each publish fails in time
 * with a retryable ConnectionError and the runtime's retries take over.
 */
import { afterEach, describe, expect, it } from "vitest";
import { isMissiveError } from "../../src/errors.js";
import { rabbitmqTransport, type RabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { RABBITMQ_PORT } from "../support/rabbitmq.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { message, rabbitmqFixture } from "./rabbitmq-support.js";

const fx = rabbitmqFixture();
let proxy: TcpProxy | undefined;
let transport: RabbitmqTransport | undefined;

afterEach(async () => {
  transport?.destroy();
  transport = undefined;
  await proxy?.stop();
  proxy = undefined;
});

/** How long `work` took to settle, and whether it rejected with a retryable connection error. */
async function timed(work: Promise<unknown>): Promise<{ ms: number; connectionError: boolean }> {
  const started = Date.now();
  const connectionError = await work.then(() => false, (err: unknown) => isMissiveError(err) && err.code === "MISSIVE_CONNECTION");
  return { ms: Date.now() - started, connectionError };
}

describe("rabbitmq publish channel opening", () => {
  it("rabbitmq - a publish channel the broker never opens (a silent path) fails each publish within its confirm deadline, not at the heartbeat", async ({ skip }) => {
    if (fx.skip()) return skip();
    proxy = await startTcpProxy({ upstreamPort: RABBITMQ_PORT });
    const url = new URL(fx.vhost().url);
    url.host = `${proxy.host}:${proxy.port}`;
    // A long heartbeat: the dead path is found only after two of them (two minutes).
    transport = rabbitmqTransport({ url: url.toString(), heartbeatSeconds: 60, confirmTimeoutMs: 1000 });
    await transport.connect();
    await transport.bind("g", ["t"]);
    expect(await transport.publish([message("t", "before")])).toEqual([undefined]);

    await proxy.blackhole();
    // Unconfirmed on the open channel: the publisher gives that channel up.
    const first = await timed(transport.publish([message("t", "first")]));
    // The next publish opens a new channel, whose channel.open nobody answers.
    const second = await timed(transport.publish([message("t", "second")]));
    const third = await timed(transport.publish([message("t", "third")]));

    expect(first.connectionError).toBe(true);
    expect(second.connectionError).toBe(true);
    expect(third.connectionError).toBe(true);
    expect(second.ms).toBeLessThan(10_000);
    expect(third.ms).toBeLessThan(10_000);
  }, 60_000);
});
