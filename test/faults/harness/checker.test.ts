/** The total-queue checker: each anomaly is counted where it belongs, and nothing else. */
import { describe, expect, it } from "vitest";
import { createChecker } from "../../support/checker.js";

describe("checker", () => {
  it("checker - a clean run: everything confirmed is handled once with one effect", () => {
    const c = createChecker();
    for (const id of ["a", "b", "c"]) {
      c.attempted(id);
      c.confirmed(id);
      c.handled(id);
      c.effect(id);
    }
    expect(c.check()).toEqual({
      attempted: 3, confirmed: 3, rejected: 0, handled: 3, indeterminate: 0,
      lost: [], duplicates: 0, doubleEffects: [], missingEffects: [], rejectedButDelivered: [], unexpected: [],
    });
    expect(c.summary()).toBe("attempted=3 confirmed=3 rejected=0 indeterminate=0 handled=3 lost=0 duplicates=0 double_effects=0 missing_effects=0 rejected_but_delivered=0 unexpected=0");
  });

  it("checker - confirmed but never handled is lost; attempted and unconfirmed is only indeterminate", () => {
    const c = createChecker();
    c.confirmed("kept");
    c.handled("kept");
    c.confirmed("gone");
    c.attempted("in-flight");
    const r = c.check();
    expect(r.lost).toEqual(["gone"]);
    expect(r.indeterminate).toBe(1);
    expect(r.attempted).toBe(3); // confirmed implies attempted
  });

  it("checker - extra handler runs are duplicates; extra effects are double effects", () => {
    const c = createChecker();
    c.confirmed("m");
    c.handled("m");
    c.handled("m");
    c.handled("m");
    c.effect("m");
    c.confirmed("n");
    c.handled("n");
    c.handled("n");
    c.effect("n", 2);
    const r = c.check();
    expect(r.duplicates).toBe(3); // 2 extra for m, 1 for n
    expect(r.handled).toBe(2);
    expect(r.doubleEffects).toEqual(["n"]);
  });

  it("checker - a confirmed id without an effect is a missing effect once effects are tracked", () => {
    const c = createChecker();
    c.confirmed("x");
    c.handled("x");
    expect(c.check().missingEffects).toEqual([]); // no effects recorded at all: not tracked
    c.confirmed("y");
    c.handled("y");
    c.effect("y");
    expect(c.check().missingEffects).toEqual(["x"]);
  });

  it("checker - rejected yet delivered, and handled but never attempted, are reported apart", () => {
    const c = createChecker();
    c.rejected("r", new Error("publish timed out"));
    c.handled("r");
    c.handled("ghost");
    c.effect("phantom");
    const r = c.check();
    expect(r.rejected).toBe(1);
    expect(r.rejectedButDelivered).toEqual(["r"]);
    expect(r.unexpected.sort()).toEqual(["ghost", "phantom"]);
    expect(r.lost).toEqual([]); // a rejected publish promised nothing
  });

  it("checker - effect counts must be positive integers", () => {
    expect(() => createChecker().effect("a", 0)).toThrow(RangeError);
  });
});
