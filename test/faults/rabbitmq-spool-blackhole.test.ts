/**
 * Fault (issue 7, proof 3): a 10 s blackhole (the TCP proxy drops every
 * byte, both ways, and strands new connections) during a paced publish
 * stream of the spool producer (outageAfter 1 s, heartbeat 1 s). The outage
 * is noticed within the bound (the `broker: down` event at most outageAfter
 * + 2 s after the blackhole began, none before it); every publish called
 * during the blackhole resolves `spooled`, without waiting much longer than
 * the bound; after the network heals (no reset: a reconnect stranded in the
 * blackhole gives up after connectTimeoutMs) the spool drains and every
 * confirmed or spooled id reaches the group, each key in publish order.
 */
import { describe, it } from "vitest";
import { rabbitmqFaults } from "./rabbitmq-fault-support.js";
import { rabbitmqWorld } from "./spool-fault-worlds.js";
import { silentOutageScenario } from "./spool-scenarios.js";

const fx = rabbitmqFaults();

describe("faults - rabbitmq spool through a blackhole", () => {
  it("faults - rabbitmq spool: a 10 s blackhole during a publish stream: noticed within outageAfter, publishes spooled, all arrive afterwards", async ({ skip }) => {
    if (fx.skip()) return skip();
    await silentOutageScenario(await rabbitmqWorld(fx), 10_000);
  }, 120_000);
});
