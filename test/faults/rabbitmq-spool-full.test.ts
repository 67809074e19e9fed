/**
 * Fault (issue 7, proof 4): the spool fills while RabbitMQ is unreachable
 * (the producer's TCP proxy refuses and resets; spool maxMessages 200).
 * With `whenFull: "reject"`, publishes beyond the bound reject at once with
 * SpoolFullError (MISSIVE_SPOOL_FULL); the spooled ones all arrive once the
 * broker is back, the rejected ones never. With `whenFull: "wait"`, the
 * publishes beyond the bound wait (backpressure: none settles while the
 * spool is full) and complete once the broker is back: nothing rejected,
 * nothing lost, each key in publish order. A burst bigger than the spool,
 * in flight as one batch when the outage is noticed, is not spooled in part
 * (a batch goes to the spool whole): it waits on the broker and is
 * confirmed once it is back.
 */
import { describe, it } from "vitest";
import { rabbitmqFaults } from "./rabbitmq-fault-support.js";
import { rabbitmqWorld } from "./spool-fault-worlds.js";
import { burstScenario, fullRejectScenario, fullWaitScenario } from "./spool-scenarios.js";

const fx = rabbitmqFaults();

describe("faults - rabbitmq spool full", () => {
  it("faults - rabbitmq spool: full with whenFull reject: SpoolFullError beyond the bound, the spooled ones arrive, the rejected ones never", async ({ skip }) => {
    if (fx.skip()) return skip();
    await fullRejectScenario(await rabbitmqWorld(fx));
  }, 90_000);

  it("faults - rabbitmq spool: full with whenFull wait: publishes beyond the bound wait, then complete once the broker is back; nothing lost", async ({ skip }) => {
    if (fx.skip()) return skip();
    await fullWaitScenario(await rabbitmqWorld(fx));
  }, 90_000);

  it("faults - rabbitmq spool: a burst bigger than the spool, in flight when the outage is noticed, is never spooled in part: it waits on the broker and is confirmed once it is back; nothing lost", async ({ skip }) => {
    if (fx.skip()) return skip();
    await burstScenario(await rabbitmqWorld(fx));
  }, 90_000);
});
