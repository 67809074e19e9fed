import { describe, expect, it } from "vitest";
import { claimOrder, shareOf, surplusOf } from "./partition-share.js";

describe("nats partition share", () => {
  it("partition share - each member owns at most ceil(partitions / members), and the shares cover every partition", () => {
    expect(shareOf(16, 1)).toBe(16);
    expect(shareOf(16, 2)).toBe(8);
    expect(shareOf(16, 3)).toBe(6);
    expect(shareOf(4, 8)).toBe(1);
    // Not counted yet (or a failed count) is one member: the partitions are still all owned.
    expect(shareOf(8, 0)).toBe(8);
    for (let members = 1; members <= 20; members++) expect(shareOf(16, members) * members).toBeGreaterThanOrEqual(16);
  });

  it("partition share - the surplus is what holds the fewest deliveries, the highest index on a tie", () => {
    const holding = new Map([[0, 3], [1, 0], [2, 0], [3, 5]]);
    expect(surplusOf([0, 1, 2, 3], 2, (i) => holding.get(i) ?? 0)).toEqual([2, 1]);
    expect(surplusOf([0, 1, 2, 3], 3, (i) => holding.get(i) ?? 0)).toEqual([2]);
    expect(surplusOf([0, 1], 2, () => 0)).toEqual([]);
    expect(surplusOf([5, 6, 7], 0, () => 0)).toEqual([7, 6, 5]);
  });

  it("partition share - claims look at the partitions not owned, from the start given and around", () => {
    expect(claimOrder(8, new Set([1, 6]), 5)).toEqual([5, 7, 0, 2, 3, 4]);
    expect(claimOrder(4, new Set([0, 1, 2, 3]), 2)).toEqual([]);
  });
});
