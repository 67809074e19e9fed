/**
 * A consumer process SIGKILLed mid-handler, twice (before its effect, and
 * after its effect committed but before the ack), then a survivor drains the
 * rest: the scenario the NATS and Redis consumer-SIGKILL tests share, on a
 * broker named by a transport URL (test/fixtures/url-fault-consumer.ts).
 * The killed process's messages come back after its lease.
 */
import { join } from "node:path";
import type { Bus } from "../../src/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import type { UrlFaultConsumerArgs, UrlFaultConsumerMessage } from "../fixtures/url-fault-consumer.js";
import { createChecker, type CheckResult } from "../support/checker.js";
import { forkFixture, killOnMessage, nextMessage } from "../support/fixture-process.js";
import { GROUP, publishKeyed, readBack, settled } from "./rabbitmq-fault-support.js";

export interface SigkillRun {
  readonly r: CheckResult;
  readonly rejected: number;
  readonly kills: number;
  readonly drained: boolean;
  readonly orderViolations: number;
  readonly summary: string;
}

/** Publish `count` keyed messages with `bus`, then kill two consumers of `url` mid-handler and let a third drain; `dir` holds the effects and journals. */
export async function consumerSigkill(bus: Bus, url: string, dir: string, count: number, leaseMs: number): Promise<SigkillRun> {
  const checker = createChecker();
  await bus.declare(OrderPlaced, GROUP);
  const published = await publishKeyed(bus, checker, { count, keys: 50 });
  const journals: string[] = [];
  const startConsumer = async (name: string, options: Partial<UrlFaultConsumerArgs> = {}) => {
    const journal = join(dir, `${name}.journal`);
    journals.push(journal);
    const args: UrlFaultConsumerArgs = { url, effects: join(dir, "effects.db"), group: GROUP, journal, concurrency: 8, leaseMs, ...options };
    const child = forkFixture("url-fault-consumer", [JSON.stringify(args)]);
    await nextMessage(child, (m: UrlFaultConsumerMessage) => "ready" in m, 30_000, `consumer ${name} ready`);
    return child;
  };
  let kills = 0;
  for (const [stallAfter, stallAt] of [[200, "before-effect"], [300, "after-effect"]] as const) {
    const victim = await startConsumer(`victim-${kills}`, { stallAfter, stallAt });
    await killOnMessage(victim, (m: UrlFaultConsumerMessage) => "stalled" in m, 60_000, `victim ${kills} stalled mid-handler`);
    kills++;
  }
  const survivor = await startConsumer("survivor");
  const drained = await settled(join(dir, "effects.db"), published.confirmedIds, 90_000);
  survivor.kill("SIGKILL");
  const back = readBack(join(dir, "effects.db"), checker, journals);
  return { r: checker.check(), rejected: published.rejected, kills, drained, orderViolations: back.orderViolations, summary: checker.summary() };
}
