/**
 * Fault (issue 7, proof 1): RabbitMQ unreachable (the producer's TCP proxy
 * refuses and resets), 1,000 publishes: each resolves `spooled`. The
 * producer process is SIGKILLed; its spool file holds the 1,000 rows. The
 * broker comes back, a new producer process opens the same spool file and
 * flushes it on start: 1,000 of 1,000 distinct ids reach the group, none
 * twice (nothing reached the broker before), each key in publish order.
 */
import { describe, it } from "vitest";
import { rabbitmqFaults } from "./rabbitmq-fault-support.js";
import { rabbitmqWorld } from "./spool-fault-worlds.js";
import { killMidFlushScenario, restartScenario, startDownScenario } from "./spool-scenarios.js";

const fx = rabbitmqFaults();

describe("faults - rabbitmq spool across a producer restart", () => {
  it("faults - rabbitmq spool: broker unreachable, 1,000 publishes spooled, producer SIGKILLed, broker back, producer restarted: 1,000 of 1,000 arrive", async ({ skip }) => {
    if (fx.skip()) return skip();
    await restartScenario(await rabbitmqWorld(fx), 1000);
  }, 120_000);

  it("faults - rabbitmq spool: a producer started while the broker is unreachable comes up, spools 500 publishes, and all arrive once it is back", async ({ skip }) => {
    if (fx.skip()) return skip();
    await startDownScenario(await rabbitmqWorld(fx), 500);
  }, 90_000);

  it("faults - rabbitmq spool: the producer SIGKILLed at a random point of a paced flush of 2,000; the next one finishes it: all arrive, key order kept, copies at most one batch", async ({ skip }) => {
    if (fx.skip()) return skip();
    await killMidFlushScenario(await rabbitmqWorld(fx), 2000);
  }, 120_000);
});
