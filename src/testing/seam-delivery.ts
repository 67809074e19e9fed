/**
 * What happens to a delivery over time: retry with a delay and new
 * headers, delayed publishes, attempt counting, leases, and a consumer
 * that dies holding messages.
 */
import { expect, it } from "vitest";
import { ErrorCodes } from "../errors.js";
import type { SeamContext } from "./seam-context.js";
import { bodies, bodyOf, expectCode, message, plainHeaders, receiveExactly, sleep } from "./seam-helpers.js";

/** Delays are honoured to the broker's resolution (RabbitMQ: 100 ms steps), so allow that much early. */
const DELAY_RESOLUTION_MS = 150;

export function deliveryTests(s: SeamContext): void {
  const f = s.features;
  const attempt = (n: number): number => (f.exactAttempts ? n : 0);

  if (f.nativeDelay) {
    it("seam - retry(delay, headers) redelivers no sooner than the delay, with the headers replaced, and does not hold others back", async () => {
      const t = await s.open();
      const [group, topic] = [s.name("g"), s.name("retry")];
      const sub = await s.subscribe(t, group, [topic], { ordered: false });
      await t.publish([message(topic, "slow")]);
      const [d] = await receiveExactly(sub, 1);
      const replaced = { "ce-id": "slow", "ce-type": topic, "missive-attempts": "1", "x-retry": "yes" };
      const retriedAt = Date.now();
      await d!.retry(800, replaced);
      await t.publish([message(topic, "fast")]);
      const [fast] = await receiveExactly(sub, 1);
      expect(bodyOf(fast!)).toBe("fast");
      await fast!.ack();
      const [again] = await receiveExactly(sub, 1, 20_000);
      expect(Date.now() - retriedAt).toBeGreaterThanOrEqual(800 - DELAY_RESOLUTION_MS);
      expect(bodyOf(again!)).toBe("slow");
      expect(plainHeaders(again!)).toEqual(replaced);
      expect(again!.attempt).toBe(attempt(2));
      await again!.ack();
    });

    it("seam - a publish with delayMs is not handed out before its delay", async () => {
      const t = await s.open();
      const [group, topic] = [s.name("g"), s.name("later")];
      const sub = await s.subscribe(t, group, [topic]);
      const publishedAt = Date.now();
      expect(await t.publish([message(topic, "later", undefined, { delayMs: 800 })])).toEqual([undefined]);
      const [d] = await receiveExactly(sub, 1, 20_000);
      expect(Date.now() - publishedAt).toBeGreaterThanOrEqual(800 - DELAY_RESOLUTION_MS);
      expect(d!.attempt).toBe(attempt(1));
      await d!.ack();
    });

    if (f.exactAttempts) {
      it("seam - attempt counts every retry: 1, 2, 3", async () => {
        const t = await s.open();
        const [group, topic] = [s.name("g"), s.name("count")];
        const sub = await s.subscribe(t, group, [topic]);
        await t.publish([message(topic, "m")]);
        const seen: number[] = [];
        for (let i = 0; i < 3; i++) {
          const [d] = await receiveExactly(sub, 1);
          seen.push(d!.attempt);
          if (i < 2) await d!.retry(0, { ...d!.wire.headers });
          else await d!.ack();
        }
        expect(seen).toEqual([1, 2, 3]);
      });
    }
  }

  if (f.leases) {
    it("seam - a held delivery's lease is renewed: no other consumer gets it while its holder lives", async () => {
      const [group, topic] = [s.name("g"), s.name("held")];
      const holder = await s.subscribe(await s.open(), group, [topic], { leaseMs: 600 });
      const rival = await s.subscribe(await s.open(), group, [topic], { leaseMs: 600 });
      const t = await s.open();
      await t.publish([message(topic, "long")]);
      const [d] = await receiveExactly(holder, 1);
      // More than three leases go by with the holder still working.
      expect(await rival.receive(1, 2_000)).toEqual([]);
      await d!.ack();
    });
  }

  const crash = s.target.crash;
  if (crash) {
    it(`seam - a crashed consumer's unsettled message goes to another consumer${f.leases ? " once its lease runs out" : ""}, as a new attempt; the dead holder's settle rejects with LeaseLostError`, async () => {
      const [group, topic] = [s.name("g"), s.name("crash")];
      const doomed = await s.open();
      const leaseMs = 1_000;
      const sub = await s.subscribe(doomed, group, [topic], { leaseMs });
      await doomed.publish([message(topic, "m1")]);
      const [held] = await receiveExactly(sub, 1);
      // Its handler starts, as the runtime marks it (a transport counting only handler starts sees it), then the process dies.
      expect(held!.start?.() ?? true).toBe(true);
      await sleep(50);
      const survivor = await s.subscribe(await s.open(), group, [topic], { leaseMs });
      const crashedAt = Date.now();
      await crash.call(s.target, doomed);
      const [again] = await receiveExactly(survivor, 1, 30_000);
      // A live holder renews its leases every leaseMs / 3, so the last renewal before the crash may be that long before
      // it: the lease runs out between two thirds of leaseMs and leaseMs after the crash, never sooner (100 ms for clocks).
      if (f.leases) expect(Date.now() - crashedAt).toBeGreaterThanOrEqual(leaseMs - leaseMs / 3 - 100);
      expect(bodyOf(again!)).toBe("m1");
      expect(again!.attempt).toBe(attempt(2));
      await expectCode(held!.ack(), ErrorCodes.LEASE_LOST);
      await again!.ack();
      expect(await survivor.receive(10, 300)).toEqual([]);
    });
  }

  const expireLeases = s.target.expireLeases;
  if (f.leases && expireLeases) {
    it("seam - a settle after the lease was lost rejects with LeaseLostError, and the message is the new holder's", async () => {
      const [group, topic] = [s.name("g"), s.name("lost")];
      const stalled = await s.open();
      const mine = await s.subscribe(stalled, group, [topic]);
      await stalled.publish([message(topic, "m"), message(topic, "n")]);
      const held = await receiveExactly(mine, 2);
      for (const d of held) expect(d.start?.() ?? true).toBe(true);
      await sleep(50);
      await expireLeases.call(s.target, stalled);
      const theirs = await receiveExactly(await s.subscribe(await s.open(), group, [topic]), 2);
      expect(bodies(theirs).sort()).toEqual(["m", "n"]);
      for (const d of theirs) expect(d.attempt).toBe(attempt(2));
      await expectCode(held[0]!.ack(), ErrorCodes.LEASE_LOST);
      if (f.nativeDelay) await expectCode(held[1]!.retry(0, {}), ErrorCodes.LEASE_LOST);
      else await expectCode(held[1]!.ack(), ErrorCodes.LEASE_LOST);
      // The lost settles changed nothing: the new holder settles as usual.
      await Promise.all(theirs.map((d) => d.ack()));
      await sleep(50);
      expect(await mine.receive(10, 300)).toEqual([]);
    });
  }
}
