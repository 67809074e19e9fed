/**
 * Brokers of a test's own: each starts on its own loopback port and data
 * directory, answers its protocol probe, stops answering while paused
 * (SIGSTOP), answers again after resume, and comes back on the same port
 * after a SIGKILL and restart.
 */
import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { missingBinary, startBroker, stopAllBrokers, type BrokerKind } from "../../support/broker-process.js";
import { isSharedServicePort } from "../../support/free-port.js";
import { rawClient } from "./net-client.js";
import { shouldSkip } from "./skip.js";

afterAll(stopAllBrokers);

const KINDS: BrokerKind[] = ["redis", "nats", "mosquitto", "postgres", "rabbitmq"];

for (const kind of KINDS) {
  describe.skipIf(shouldSkip(missingBinary(kind), `broker process - ${kind}`))(`broker process - ${kind}`, () => {
    it(`broker process - ${kind}: start, pause, resume, SIGKILL, restart on the same port, stop`, async () => {
      const broker = await startBroker(kind);
      try {
        expect(isSharedServicePort(broker.port)).toBe(false);
        expect(broker.url).toContain(`127.0.0.1:${broker.port}`);
        await broker.probe();

        await broker.pause();
        await expect(broker.probe(800)).rejects.toThrow(/no answer|pg_isready/);
        await broker.resume();
        await broker.probe(5000);

        const port = broker.port;
        const firstPid = broker.pid;
        await broker.kill();
        expect(broker.pid).toBeUndefined();
        await expect(broker.probe(800)).rejects.toThrow();
        await broker.restart();
        expect(broker.port).toBe(port);
        expect(broker.pid).not.toBe(firstPid);
        await broker.probe();
      } finally {
        const dir = broker.dataDir;
        await broker.stop();
        expect(existsSync(dir)).toBe(false);
      }
    }, 90_000);
  });
}

describe.skipIf(shouldSkip(missingBinary("redis"), "broker process - redis append-only"))("broker process - redis append-only", () => {
  it("broker process - redis with appendOnly keeps an acknowledged write across SIGKILL and restart, and across a graceful restart", async () => {
    const redis = await startBroker("redis", { appendOnly: true });
    const ok = (expected: string) => (b: Buffer): boolean => b.toString().includes(expected);
    const before = await rawClient(redis.port);
    await before.request("*3\r\n$3\r\nSET\r\n$4\r\nkept\r\n$3\r\nyes\r\n", ok("+OK\r\n"), 2000, "SET");
    before.socket.destroy();
    await redis.kill();
    await redis.restart();
    const after = await rawClient(redis.port);
    await after.request("*2\r\n$3\r\nGET\r\n$4\r\nkept\r\n", ok("$3\r\nyes\r\n"), 2000, "GET after the restart");
    after.socket.destroy();
    const pid = redis.pid;
    await redis.restart(); // while running: SIGTERM, then start again
    expect(redis.pid).not.toBe(pid);
    const again = await rawClient(redis.port);
    await again.request("*2\r\n$3\r\nGET\r\n$4\r\nkept\r\n", ok("$3\r\nyes\r\n"), 2000, "GET after the graceful restart");
    again.socket.destroy();
    await redis.stop();
  }, 60_000);
});
