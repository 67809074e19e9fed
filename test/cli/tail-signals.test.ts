/**
 * Issue 15: `tail` removes its temporary group whichever way it is asked to
 * stop. SIGHUP (a closed terminal, a supervisor) used to kill it on the spot,
 * leaving `missive.tail.*` and its rows in the file for ten minutes.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/wait.js";
import { count, declared, ensureBuilt, Order, start, tempDir, urlOf } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
let path: string;

beforeAll(async () => {
  ensureBuilt();
  tmp = tempDir("cli-tail-signals");
  path = join(tmp.dir, "s.db");
  await declared(path, "billing");
});
afterAll(() => tmp.cleanup());

describe("cli - tail stops cleanly on signals", () => {
  for (const signal of ["SIGTERM", "SIGHUP", "SIGINT"] as const) {
    it(`cli - tail on ${signal}: exit 0, the temporary group, its bindings and rows removed`, async () => {
      const run = start(["tail", Order.type, "--url", urlOf(path)]);
      await waitFor(() => run.stderr().includes("following"), 15_000, "tail to start");
      const group = /temporary group (missive\.tail\.[0-9a-f]+)/.exec(run.stderr())![1]!;
      expect(count(path, "missive_groups", "group_name = ?", group)).toBe(1);
      run.child.kill(signal);
      const r = await run.finished;
      expect(r.signal).toBeNull();
      expect(r.code).toBe(0);
      expect(count(path, "missive_groups", "group_name = ?", group)).toBe(0);
      expect(count(path, "missive_bindings", "group_name = ?", group)).toBe(0);
      expect(count(path, "missive_consumers", "group_name = ?", group)).toBe(0);
    });
  }
});
