import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DeadlineList, type DeadlineEntry } from "./deadline-list.js";

class Entry implements DeadlineEntry {
  deadline = 0;
  previous: DeadlineEntry | undefined = undefined;
  next: DeadlineEntry | undefined = undefined;
  inList = false;
  constructor(readonly name: string, private readonly expired: string[]) {}
  expire(): void {
    this.expired.push(this.name);
  }
}

describe("deadline list", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("deadline list - entries expire in the order they were added, each when its own deadline passes", async () => {
    const expired: string[] = [];
    const list = new DeadlineList(100, Date.now);
    const a = new Entry("a", expired);
    list.add(a);
    await vi.advanceTimersByTimeAsync(30);
    list.add(new Entry("b", expired));
    await vi.advanceTimersByTimeAsync(30);
    list.add(new Entry("c", expired));
    expect(list.size).toBe(3);
    await vi.advanceTimersByTimeAsync(39);
    expect(expired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(expired).toEqual(["a"]);
    expect(a.inList).toBe(false);
    await vi.advanceTimersByTimeAsync(29);
    expect(expired).toEqual(["a"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(expired).toEqual(["a", "b"]);
    await vi.advanceTimersByTimeAsync(30);
    expect(expired).toEqual(["a", "b", "c"]);
    expect(list.size).toBe(0);
  });

  it("deadline list - an entry taken out never expires, its links are cleared, and one timer serves every entry", async () => {
    const expired: string[] = [];
    const list = new DeadlineList(100, Date.now);
    const entries = ["a", "b", "c", "d"].map((n) => new Entry(n, expired));
    for (const e of entries) {
      list.add(e);
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(vi.getTimerCount()).toBe(1);
    // The head, one in the middle, and the tail.
    list.remove(entries[0]!);
    list.remove(entries[2]!);
    list.remove(entries[3]!);
    list.remove(entries[3]!); // twice: nothing
    expect(list.size).toBe(1);
    for (const i of [0, 2, 3]) {
      expect(entries[i]!.inList).toBe(false);
      expect(entries[i]!.previous).toBeUndefined();
      expect(entries[i]!.next).toBeUndefined();
    }
    // The timer was armed for a's deadline (t=100): it fires early for b (t=110) and arms again.
    await vi.advanceTimersByTimeAsync(69);
    expect(expired).toEqual([]);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(expired).toEqual(["b"]);
    // Empty: the timer is not armed again.
    expect(vi.getTimerCount()).toBe(0);
  });

  it("deadline list - entries added after it emptied get a timer again; a throwing expiry does not stop later ones", async () => {
    const expired: string[] = [];
    const list = new DeadlineList(50, Date.now);
    const thrower = new Entry("x", expired);
    thrower.expire = () => {
      throw new Error("expiry failed");
    };
    list.add(thrower);
    await vi.advanceTimersByTimeAsync(10);
    list.add(new Entry("y", expired));
    await expect(vi.advanceTimersByTimeAsync(40)).rejects.toThrow("expiry failed");
    expect(list.size).toBe(1);
    await vi.advanceTimersByTimeAsync(10);
    expect(expired).toEqual(["y"]);
    list.add(new Entry("z", expired));
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(expired).toEqual(["y", "z"]);
  });

  it("deadline list - a deadline past setTimeout's range is reached in steps, not fired at once", async () => {
    const expired: string[] = [];
    const day = 24 * 3_600_000;
    const list = new DeadlineList(30 * day, Date.now);
    list.add(new Entry("late", expired));
    await vi.advanceTimersByTimeAsync(25 * day);
    expect(expired).toEqual([]);
    await vi.advanceTimersByTimeAsync(5 * day);
    expect(expired).toEqual(["late"]);
  });
});
