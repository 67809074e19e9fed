/**
 * Issue 15: `dlq show` bounds what a huge message would pour onto the
 * terminal (a 1 MB body, 5,000 headers, a 10,000-character error message, a
 * 500-line stack): each part is cut with a line saying how much was left
 * out, `--full` prints everything, and `--json` is always whole.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, declared, ensureBuilt, expectNoRawControls, insertDeadLetter, tempDir, urlOf } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
let url: string;
let huge: string;
let small: string;

const BODY_TEXT = "x".repeat(1_000_000);
const HEADER_COUNT = 5000;

beforeAll(async () => {
  ensureBuilt();
  tmp = tempDir("cli-show-bounds");
  const path = join(tmp.dir, "b.db");
  url = urlOf(path);
  await declared(path, "billing");
  const headers: Record<string, string> = { "ce-id": "huge-1", "content-type": "text/plain" };
  for (let i = 0; i < HEADER_COUNT; i++) headers[`x-h${String(i).padStart(4, "0")}`] = `v${i}`;
  headers["x-long"] = "L".repeat(5000);
  headers["missive-error-message"] = `boom ${"m".repeat(10_000)}`;
  headers["missive-error-stack"] = Array.from({ length: 500 }, (_, i) => `at frame${i} (f.js:${i}:1)`).join(" | ");
  // A body cut in the middle of an escape must not leave a raw control character behind.
  huge = insertDeadLetter(path, { group: "billing", topic: "big.type", messageId: "huge-1", headers: JSON.stringify(headers), body: Buffer.from(`\u001b[2J${BODY_TEXT}`) });
  small = insertDeadLetter(path, { group: "billing", topic: "small.type", messageId: "small-1", headers: JSON.stringify({ "ce-id": "small-1" }), body: Buffer.from("short body") });
});
afterAll(() => tmp.cleanup());

describe("cli - dlq show bounds", () => {
  it("cli - dlq show of a huge dead letter: the first 4096 characters of the body, 100 headers, 50 stack lines, each cut said", async () => {
    const r = await cli(["dlq", "show", huge, "--url", url]);
    expect(r.code).toBe(0);
    expectNoRawControls(r.stdout);
    expect(r.stdout.length).toBeLessThan(40_000);
    expect(r.stdout).toContain("body (utf8, 1000004 bytes):");
    expect(r.stdout).toContain("  … 995908 of 1000004 characters of the body not shown (--full shows all of it)");
    expect(r.stdout).toContain(`  … ${HEADER_COUNT + 3 - 100} of ${HEADER_COUNT + 3} headers not shown (--full shows all of it)`);
    expect(r.stdout).toContain("  … 450 more stack lines not shown (--full shows all of it)");
    expect(r.stdout).toContain("… (8981 more characters; --full shows all)");
    expect(r.stdout).not.toContain("x-h4999");
  });

  it("cli - dlq show --full prints all of it; --json is whole", async () => {
    const r = await cli(["dlq", "show", huge, "--full", "--url", url]);
    expect(r.code).toBe(0);
    expectNoRawControls(r.stdout);
    expect(r.stdout).toContain(BODY_TEXT);
    expect(r.stdout).toContain("  x-h4999: v4999");
    expect(r.stdout).toContain(`  x-long: ${"L".repeat(5000)}`);
    expect(r.stdout).toContain("at frame499 (f.js:499:1)");
    expect(r.stdout).not.toContain("not shown");
    const j = await cli(["dlq", "show", huge, "--json", "--url", url]);
    const doc = JSON.parse(j.stdout) as { headers: Record<string, string>; body: { text: string }; diagnostics: { errorMessage: string } };
    expect(doc.body.text).toBe(`\u001b[2J${BODY_TEXT}`);
    expect(Object.keys(doc.headers)).toHaveLength(HEADER_COUNT + 3);
    expect(doc.diagnostics.errorMessage).toHaveLength(10_005);
  });

  it("cli - dlq show of a small dead letter says nothing about bounds", async () => {
    const r = await cli(["dlq", "show", small, "--url", url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("  short body");
    expect(r.stdout).not.toContain("not shown");
  });
});
