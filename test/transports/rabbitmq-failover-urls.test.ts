/**
 * `failoverUrls`: the RabbitMQ transport given several nodes reaches one that
 * answers, at the first connect and after a lost connection. Before, the
 * transport knew one URL and kept reconnecting to a dead node (the cluster
 * fault test, test/faults/rabbitmq-cluster.test.ts, is the end-to-end proof).
 * Here the nodes are proxies to the shared broker, which a test can refuse.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ConfigurationError } from "../../src/errors.js";
import { rabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { RABBITMQ_PORT } from "../support/rabbitmq.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { message, rabbitmqFixture, receiveAtLeast, subOptions } from "./rabbitmq-support.js";

const fx = rabbitmqFixture();
const proxies: TcpProxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.stop();
});

async function node(): Promise<{ proxy: TcpProxy; url: string }> {
  const proxy = await startTcpProxy({ upstreamPort: RABBITMQ_PORT });
  proxies.push(proxy);
  return { proxy, url: fx.vhost().url.replace(`:${RABBITMQ_PORT}/`, `:${proxy.port}/`) };
}

describe("rabbitmq failover URLs", () => {
  it("rabbitmq failover URLs - a failover URL that is not an amqp:// URL is a ConfigurationError", () => {
    for (const bad of [{ failoverUrls: ["http://x"] }, { failoverUrls: "amqp://h" }, { failoverUrls: ["amqp://h", 5] }]) {
      expect(() => rabbitmqTransport({ url: "amqp://h", ...bad } as never), JSON.stringify(bad)).toThrow(ConfigurationError);
    }
    expect(() => rabbitmqTransport({ url: "amqp://h", failoverUrls: ["amqp://a", "amqps://b:5671/v"] })).not.toThrow();
  });

  it("rabbitmq failover URLs - the first connect skips a node that refuses and uses the next", async ({ skip }) => {
    if (fx.skip()) return skip();
    const dead = await node();
    const live = await node();
    await dead.proxy.refuse();
    const t = fx.open({ url: dead.url, failoverUrls: [live.url] });
    const sub = await t.subscribe(subOptions("failover-first", ["e"], { ordered: false, prefetch: 10 }));
    expect(await t.publish([message("e", "one")])).toEqual([undefined]);
    expect(await receiveAtLeast(sub, 1, 5000)).toHaveLength(1);
    expect(live.proxy.stats.accepted).toBeGreaterThan(0);
    await t.close(); // here, while its node is up: after the proxies stopped, the fixture's close hung past the hook timeout
  });

  it("rabbitmq failover URLs - after the node in use dies, the transport reconnects through the next node and publishing goes on", async ({ skip }) => {
    if (fx.skip()) return skip();
    const a = await node();
    const b = await node();
    const t = fx.open({ url: a.url, failoverUrls: [b.url], reconnectBaseMs: 20, reconnectMaxMs: 200 });
    const sub = await t.subscribe(subOptions("failover-lost", ["e"], { ordered: false, prefetch: 10 }));
    expect(await t.publish([message("e", "before")])).toEqual([undefined]);
    expect(b.proxy.stats.accepted).toBe(0);
    // Node a dies for good: its connections are cut and it refuses new ones.
    await a.proxy.refuse();
    a.proxy.reset();
    expect(await t.publish([message("e", "after")])).toEqual([undefined]);
    const got = await receiveAtLeast(sub, 2, 15_000);
    expect(got.length).toBeGreaterThanOrEqual(2);
    expect(b.proxy.stats.accepted).toBeGreaterThan(0);
    await t.close();
  });
});
