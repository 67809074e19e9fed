import { beforeEach, describe, expect, it, vi } from "vitest";
import { isUuidV7, uuidv7, uuidv7Time } from "../../src/envelope/uuidv7.js";

type UuidModule = typeof import("../../src/envelope/uuidv7.js");

/** A fresh copy of the module: its "last millisecond" state starts clean, untouched by other tests. */
async function freshModule(): Promise<UuidModule> {
  vi.resetModules();
  return import("../../src/envelope/uuidv7.js");
}

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("uuidv7", () => {
  let fresh: UuidModule;
  beforeEach(async () => {
    fresh = await freshModule();
  });

  it("uuidv7 - ids have the RFC 9562 layout: version 7, variant 10, lower-case hex", () => {
    for (let i = 0; i < 10_000; i++) {
      const id = uuidv7();
      expect(id).toMatch(FORMAT);
      expect(isUuidV7(id)).toBe(true);
    }
  });

  it("uuidv7 - 100k ids are strictly increasing as strings (and so unique)", () => {
    const ids = Array.from({ length: 100_000 }, () => uuidv7());
    for (let i = 1; i < ids.length; i++) {
      if (!(ids[i - 1]! < ids[i]!)) expect.fail(`id ${i} ${ids[i]} is not after ${ids[i - 1]}`);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("uuidv7 - the time in an id is the wall clock at creation", () => {
    const before = Date.now();
    const id = fresh.uuidv7();
    const after = Date.now();
    const t = fresh.uuidv7Time(id);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(after);
  });

  it.each([1, 0x1_0000_0000 - 1, 0x1_0000_0000, 0x1234_5678_9abc, 1_700_000_000_123, 2 ** 48 - 1])("uuidv7 - time %d is encoded in the first 48 bits and read back", async (t) => {
    const m = await freshModule();
    const id = m.uuidv7(t);
    expect(m.uuidv7Time(id)).toBe(t);
    expect(id.slice(0, 8) + id.slice(9, 13)).toBe(t.toString(16).padStart(12, "0"));
    expect(m.isUuidV7(id)).toBe(true);
  });

  it("uuidv7 - ids stay increasing when the clock goes backwards", () => {
    const a = fresh.uuidv7(2_000_000);
    const b = fresh.uuidv7(1_000_000);
    const c = fresh.uuidv7(1_500_000);
    expect(a < b && b < c).toBe(true);
    expect(fresh.uuidv7Time(b)).toBe(2_000_000);
    expect(fresh.uuidv7Time(c)).toBe(2_000_000);
    const d = fresh.uuidv7(2_000_001);
    expect(c < d).toBe(true);
    expect(fresh.uuidv7Time(d)).toBe(2_000_001);
  });

  it("uuidv7 - more than 4096 ids in one millisecond carry into the next millisecond, still increasing", () => {
    const t = 1_700_000_000_000;
    const ids = Array.from({ length: 10_000 }, () => fresh.uuidv7(t));
    for (let i = 1; i < ids.length; i++) expect(ids[i - 1]! < ids[i]!).toBe(true);
    const times = ids.map((id) => fresh.uuidv7Time(id));
    expect(times[0]).toBe(t);
    expect(Math.max(...times)).toBeGreaterThan(t);
    // At most 4096 ids per millisecond, so 10k ids span at most 3 extra ms.
    expect(Math.max(...times)).toBeLessThanOrEqual(t + 3);
    for (const id of ids) expect(fresh.isUuidV7(id)).toBe(true);
  });

  it("uuidv7 - ids stay increasing across refills of the random-byte pool (every 256 ids)", () => {
    // Ids 250-260, 506-516, ... straddle a refill; half in one millisecond, half each in a new one.
    const ids: string[] = [];
    for (let i = 0; i < 256 * 4 + 10; i++) ids.push(fresh.uuidv7(i < 512 ? 7_000_000 : 7_000_000 + i));
    for (let i = 1; i < ids.length; i++) {
      if (!(ids[i - 1]! < ids[i]!)) expect.fail(`id ${i} ${ids[i]} is not after ${ids[i - 1]}`);
      expect(fresh.isUuidV7(ids[i]!)).toBe(true);
    }
    // Fresh random bytes after each refill: no tail repeats.
    expect(new Set(ids.map((id) => id.slice(19))).size).toBe(ids.length);
  });

  it("uuidv7 - the random part differs between ids of one millisecond", () => {
    const ids = Array.from({ length: 1000 }, () => fresh.uuidv7(5_000_000));
    const tails = new Set(ids.map((id) => id.slice(19)));
    expect(tails.size).toBe(ids.length);
  });

  it.each([
    "",
    "0190b6d8-3f3a-4c1e-8f3a-0123456789ab",
    "0190b6d8-3f3a-7c1e-cf3a-0123456789ab",
    "0190B6D8-3F3A-7C1E-8F3A-0123456789AB",
    "0190b6d83f3a7c1e8f3a0123456789ab",
    "0190b6d8-3f3a-7c1e-8f3a-0123456789ab0",
    " 0190b6d8-3f3a-7c1e-8f3a-0123456789ab",
  ])("uuidv7 - isUuidV7 refuses %j", (id) => {
    expect(isUuidV7(id)).toBe(false);
  });

  it("uuidv7 - isUuidV7 accepts a well-formed v7 id from elsewhere", () => {
    expect(isUuidV7("0190b6d8-3f3a-7c1e-bf3a-0123456789ab")).toBe(true);
    expect(uuidv7Time("0190b6d8-3f3a-7c1e-bf3a-0123456789ab")).toBe(0x0190b6d83f3a);
  });
});
