/**
 * bus.health() and its HTTP probe: there was no way to ask a bus whether it
 * is live and ready (issue 14, "Stops and states nobody sees").
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigurationError, healthHandler, missive, type Bus } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { postgresInbox } from "../../src/stores/postgres/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { pgPool } from "../conformance/stores/postgres.target.js";

const buses: Bus[] = [];
const servers: Server[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 500 })));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function serve(handler: ReturnType<typeof healthHandler>): Promise<string> {
  const server = createServer((req, res) => handler(req, res));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function newBus(): Promise<Bus> {
  const bus = await missive({ service: "health", transport: createMemoryBroker({ seed: 9 }).transport() });
  buses.push(bus);
  return bus;
}

describe("bus health", () => {
  it("bus health - a running bus is live and ready; /livez and /readyz answer 200 with the snapshot", async () => {
    const bus = await newBus();
    await bus.consume(OrderPlaced, { group: "billing" }, () => undefined).ready;
    expect(bus.health()).toMatchObject({ live: true, ready: true, reasons: [], bus: "open", broker: "up", consumers: [{ group: "billing", state: "running" }] });
    const base = await serve(healthHandler(bus, { prefix: "/health" }));
    const live = await fetch(`${base}/health/livez`);
    expect(live.status).toBe(200);
    expect(await live.json()).toMatchObject({ live: true, ready: true });
    expect((await fetch(`${base}/health/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/other`)).status).toBe(404);
  });

  it("bus health - a consumer that failed (inbox never migrated) makes the bus not live: /livez answers 503 with the reason", async () => {
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const pool = pgPool(1);
    try {
      const bus = await newBus();
      const consumer = bus.consume(OrderPlaced, { group: "billing", idempotency: postgresInbox({ pool, table: `never_${Date.now().toString(36)}` }) }, () => undefined);
      await expect(consumer.ready).rejects.toBeInstanceOf(ConfigurationError);
      const base = await serve(healthHandler(bus));
      const live = await fetch(`${base}/livez`);
      expect(live.status).toBe(503);
      expect(await live.json()).toMatchObject({ live: false, ready: false, reasons: ["consumer billing failed"] });
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
    } finally {
      await pool.end();
    }
  });

  it("bus health - a consumer still starting is live but not ready; a closed bus answers (not live) instead of throwing", async () => {
    const bus = await newBus();
    const consumer = bus.consume(OrderPlaced, { group: "billing" }, () => undefined);
    const starting = bus.health();
    expect(starting.live).toBe(true);
    if (consumer.state === "starting") expect(starting).toMatchObject({ ready: false, reasons: ["consumer billing is starting"] });
    await consumer.ready;
    await bus.close();
    expect(bus.health()).toMatchObject({ live: false, ready: false, bus: "closed", broker: "unknown", reasons: ["the bus is closed"] });
  });
});
