import { describe, expect, it } from "vitest";
import { GIVE_BACK, HANDLED } from "../runtime/outcome.js";
import { TokenBucket } from "../runtime/token-bucket.js";
import { rateLimitSettings } from "../runtime/token-bucket.js";
import { job } from "../../test/support/stage-jobs.js";
import { rateLimitStage } from "./rate-limit.js";

describe("rate limit stage", () => {
  it("rate limit - a token at hand runs at once; closing during a wait gives the message back without running it", async () => {
    const bucket = new TokenBucket(rateLimitSettings({ perSecond: 1, burst: 1 }, "rateLimit"));
    const closing = new AbortController();
    let runs = 0;
    const stage = rateLimitStage(bucket, closing.signal)(() => (runs++, Promise.resolve(HANDLED)));
    expect(await stage(job())).toBe(HANDLED);
    const waiting = stage(job());
    closing.abort();
    expect(await waiting).toBe(GIVE_BACK);
    expect(runs).toBe(1);
  });
});
