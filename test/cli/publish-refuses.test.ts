/** `missive publish` refuses what a consumer would refuse (issue 14): control characters in an attribute. */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, count, declared, ensureBuilt, expectCleanError, tempDir, urlOf } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
let path: string;
let url: string;
beforeAll(async () => {
  ensureBuilt();
  tmp = tempDir("cli-publish-refuses");
  path = join(tmp.dir, "p.db");
  url = urlOf(path);
  await declared(path, "billing");
});
afterAll(() => tmp.cleanup());

describe("cli - publish refuses what a consumer would refuse", () => {
  it("cli - publish with a --key or --id holding a newline: MISSIVE_ENCODE, exit 1, nothing sent (before, it was confirmed and every consumer dead-lettered it)", async () => {
    for (const args of [["--key", "a\nforged"], ["--id", "id\nforged"]]) {
      const r = await cli(["publish", "cli.order.placed", '{"orderId":"o-1"}', ...args, "--url", url]);
      expect(r.code, args.join(" ")).toBe(1);
      expectCleanError(r.stderr);
      expect(r.stderr, args.join(" ")).toContain("[MISSIVE_ENCODE]");
    }
    expect(count(path, "missive_queue")).toBe(0);
  });
});
