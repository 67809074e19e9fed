import { describe, expect, it } from "vitest";
import { ContextSlot } from "../../src/transport/context.js";
import { FailureStreak } from "../../src/transport/failure-streak.js";
import type { TransportEvent } from "../../src/transport/transport.js";
import { recordingLogger } from "../support/recording-logger.js";

function setup(): { streak: FailureStreak; log: ReturnType<typeof recordingLogger>; events: TransportEvent[]; clock: { now: number } } {
  const log = recordingLogger();
  const events: TransportEvent[] = [];
  const clock = { now: 0 };
  const streak = new FailureStreak({ log, report: (e) => void events.push(e) }, {
    what: "consuming g",
    fields: { group: "g" },
    event: (state, reason) => ({ kind: "subscription", group: "g", state: state === "failing" ? "failing" : "resumed", ...(reason === undefined ? {} : { reason }) }),
    logEveryMs: 1000,
    now: () => clock.now,
  });
  return { streak, log, events, clock };
}

describe("failure streak", () => {
  it("failure streak - the first failure warns and reports failing; repeats are debug until the interval passes; success logs and reports resumed once", () => {
    const { streak, log, events, clock } = setup();
    streak.ok();
    expect(log.lines).toEqual([]);
    streak.fail(new Error("busy"));
    streak.fail(new Error("busy"));
    clock.now = 500;
    streak.fail(new Error("busy"));
    expect(log.lines.map((l) => l.level)).toEqual(["warn", "debug", "debug"]);
    clock.now = 1500;
    streak.fail(new Error("busy"));
    expect(log.lines.at(-1)).toMatchObject({ level: "warn", obj: { group: "g", failures: 4 } });
    expect(events).toEqual([{ kind: "subscription", group: "g", state: "failing", reason: "busy" }]);
    streak.ok();
    streak.ok();
    expect(log.at("info")).toHaveLength(1);
    expect(events.at(-1)).toEqual({ kind: "subscription", group: "g", state: "resumed" });
    expect(streak.failing).toBe(false);
  });

  it("failure streak - a fatal cause logs at error; a new reason mid-streak is logged and reported at once", () => {
    const { streak, log, events } = setup();
    streak.fail(new Error("404 NOT_FOUND"), true);
    streak.fail(new Error("403 ACCESS_REFUSED"), true);
    expect(log.lines.map((l) => l.level)).toEqual(["error", "error"]);
    expect(events.map((e) => (e.kind === "subscription" ? e.reason : undefined))).toEqual(["404 NOT_FOUND", "403 ACCESS_REFUSED"]);
  });

  it("context slot - silent until a context arrives; a throwing reporter is logged, not thrown", () => {
    const slot = new ContextSlot();
    expect(() => slot.report({ kind: "connection", state: "up" })).not.toThrow();
    const log = recordingLogger();
    slot.use({ log, report: () => { throw new Error("listener bug"); } });
    slot.use(undefined); // keeps the current one
    slot.report({ kind: "connection", state: "down" });
    expect(log.at("error", "reporting a transport event failed")).toHaveLength(1);
  });
});
