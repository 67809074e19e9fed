/**
 * Issue 14, count only handler starts: a subscription that closes gives
 * back what the broker pushed to it and it never handed out; those messages
 * were never started, so their next delivery, in another process, is
 * attempt 1 again (a quorum queue's x-delivery-count says 2).
 */
import { describe, expect, it } from "vitest";
import { bodies, message, rabbitmqFixture, receiveAtLeast, subOptions } from "./rabbitmq-support.js";
import { waitFor } from "../support/wait.js";

const fx = rabbitmqFixture();

describe("rabbitmq release count", () => {
  it("rabbitmq - messages pushed but never handed out when a subscription closes come back elsewhere as attempt 1", async ({ skip }) => {
    if (fx.skip()) return skip();
    const first = fx.open();
    await first.bind("unhanded", ["u"]);
    await first.publish(Array.from({ length: 10 }, (_, i) => message("u", `m${i}`)));
    const sub = await first.subscribe(subOptions("unhanded", ["u"], { ordered: false, prefetch: 10 }));
    const unsettled = (): number => (sub as unknown as { unsettled(): { count: number } }).unsettled().count;
    await waitFor(() => unsettled() === 10, 10_000, "the broker to push all ten");
    const handed = await sub.receive(2, 1000);
    expect(handed).toHaveLength(2);
    for (const d of handed) await d.ack();
    await sub.close();

    const second = fx.open();
    const again = await receiveAtLeast(await second.subscribe(subOptions("unhanded", ["u"], { ordered: false, prefetch: 10 })), 8, 10_000);
    expect(bodies(again).sort()).toEqual(["m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"]);
    expect(again.map((d) => d.attempt)).toEqual(new Array(8).fill(1));
    for (const d of again) await d.ack();
  });
});
