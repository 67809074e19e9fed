/**
 * After an outage its own publishes detected, a producer with nothing more to
 * publish (no spool, no traffic) saw the broker up again only at the next
 * confirmed publish: `bus.health()` stayed not ready, so a Kubernetes
 * readiness probe kept the pod out of its Service, and the publish that
 * would have said "up" never came (issue 14, found by the health examples).
 * The producer now pings the broker (BrokerPing) when a cool-down ends and
 * no publish took the probe. On a real locked SQLite file, and on RabbitMQ
 * through a TCP proxy that drops every connection.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { missive, type Bus, type StatusEvent } from "../../src/index.js";
import { rabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import type { SqliteLockerCommand, SqliteLockerMessage } from "../fixtures/sqlite-locker.js";
import { shouldSkip } from "../faults/harness/skip.js";
import { forkFixture, killFixtures, nextMessage } from "../support/fixture-process.js";
import { createVhost, rabbitmqMissing, type TestVhost } from "../support/rabbitmq.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { waitFor } from "../support/wait.js";

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  killFixtures();
  for (const c of cleanups.splice(0).reverse()) await c();
});

const publisher = { timeout: "1s", breaker: { threshold: 2, cooldownMs: 100, maxCooldownMs: 400 } } as const;
const order = (n: number) => ({ orderId: `o-${n}`, seq: n, totalCents: 1 });

/** Events of the bus, from now on. */
function record(bus: Bus): StatusEvent[] {
  const events: StatusEvent[] = [];
  bus.onStatus((e) => events.push(e));
  return events;
}

describe("health recovers without a publish", () => {
  it("health - regression: sqlite, publishes failed on a locked file, then nothing is published: ready again once the lock is gone (before, not ready for ever)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "missive-health-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "q.db");
    const bus = await missive({ service: "health-sqlite", transport: sqliteTransport({ path, busyTimeoutMs: 50 }), publisher });
    cleanups.push(() => bus.close({ deadline: 500 }));
    await bus.declare(OrderPlaced, "billing");
    const events = record(bus);

    const locker = forkFixture("sqlite-locker", [JSON.stringify({ path })]);
    await nextMessage(locker, (m: SqliteLockerMessage) => "ready" in m, 30_000, "locker ready");
    locker.send({ lock: true } satisfies SqliteLockerCommand);
    await nextMessage(locker, (m: SqliteLockerMessage) => "locked" in m, 30_000, "locked");
    await expect(bus.publish(OrderPlaced, order(1))).rejects.toThrow();
    expect(bus.health()).toMatchObject({ ready: false, broker: "down" });

    locker.send({ release: true } satisfies SqliteLockerCommand);
    await nextMessage(locker, (m: SqliteLockerMessage) => "released" in m, 30_000, "released");
    await waitFor(() => bus.health().ready, 10_000, "ready again, with nothing published");
    expect(events.filter((e) => e.type === "broker").map((e) => e.state)).toEqual(["down", "up"]);
  }, 60_000);

  it("health - rabbitmq: publishes failed while the network dropped every connection, then nothing is published: ready again once it heals", async ({ skip }) => {
    if (shouldSkip(await rabbitmqMissing(), "health on rabbitmq")) return skip();
    const vhost: TestVhost = await createVhost("health");
    cleanups.push(() => vhost.remove());
    const proxy: TcpProxy = await startTcpProxy({ upstreamPort: new URL(vhost.url).port === "" ? 5672 : Number(new URL(vhost.url).port) });
    cleanups.push(() => proxy.stop());
    const u = new URL(vhost.url);
    u.port = String(proxy.port);
    const bus = await missive({ service: "health-rabbitmq", transport: rabbitmqTransport({ url: u.toString(), reconnectBaseMs: 50, reconnectMaxMs: 200, connectTimeoutMs: 500 }), publisher });
    cleanups.push(() => bus.close({ deadline: 500 }));
    await bus.declare(OrderPlaced, "billing");
    await bus.publish(OrderPlaced, order(0));

    await proxy.refuse();
    proxy.reset();
    await expect(bus.publish(OrderPlaced, order(1))).rejects.toThrow();
    await waitFor(() => !bus.health().ready, 5_000, "not ready during the outage");
    await proxy.pass();
    await waitFor(() => bus.health().ready, 15_000, "ready again, with nothing published");
  }, 60_000);
});
