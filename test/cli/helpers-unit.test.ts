/** The CLI's small parts, in process: escaping, JSON, ages, times, the progress line, the question, password scrubbing. */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { ask } from "../../src/cli/confirm.js";
import { clip, formatAge, safeText, table, toJson } from "../../src/cli/output.js";
import { progressLine } from "../../src/cli/progress.js";
import { scrub, secretsIn } from "../../src/cli/report-error.js";
import { parseTime } from "../../src/cli/time.js";
import { CliError } from "../../src/cli/exit-codes.js";

describe("cli helpers", () => {
  it("cli - safeText escapes C0, DEL, C1, line separators and bidi controls; clip cuts by code point", () => {
    expect(safeText("a\u001b[31mb\u0007\r\n\t\u0000\u007f\u009b\u2028\u202e\u2066\ufeffz")).toBe("a\\x1b[31mb\\x07\\r\\n\\t\\x00\\x7f\\x9b\\u2028\\u202e\\u2066\\ufeffz");
    expect(safeText("héllo 日本 🎉")).toBe("héllo 日本 🎉");
    expect(clip("🎉🎉🎉🎉", 3)).toBe("🎉🎉…");
    expect(clip("\u001b\u001b", 5)).toBe("\\x1b…");
  });

  it("cli - toJson escapes what a terminal acts on and still parses to the same value", () => {
    const source = '{"s":"\\u001b[2J\\u009b\\u202e\\u2028","__proto__":1}';
    const text = toJson(JSON.parse(source));
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u202e]/);
    expect(JSON.parse(text)).toEqual(JSON.parse(source));
    expect(Object.keys(JSON.parse(text) as object)).toEqual(["s", "__proto__"]);
  });

  it("cli - table pads columns and escapes cells", () => {
    expect(table(["A", "BB"], [["x\u001b", "1"], ["long", "2"]])).toBe("A      BB\nx\\x1b  1\nlong   2");
  });

  it("cli - formatAge: ms, tenths of seconds, seconds, minutes, hours, days", () => {
    expect([850, 3210, 42_000, 5 * 60_000 + 5000, 2 * 3_600_000, 2 * 3_600_000 + 13 * 60_000, 3 * 86_400_000 + 4 * 3_600_000, -1].map(formatAge)).toEqual(["850ms", "3.2s", "42s", "5m", "2h", "2h13m", "3d4h", "-"]);
  });

  it("cli - parseTime: ISO dates and times, relative durations back from now, anything else a usage error", () => {
    const now = Date.parse("2025-06-01T12:00:00Z");
    expect(parseTime("2025-01-02", "--since", now)).toBe(Date.parse("2025-01-02"));
    expect(parseTime("2025-01-02T03:04:05.123+02:00", "--since", now)).toBe(Date.parse("2025-01-02T01:04:05.123Z"));
    expect(parseTime("30m", "--since", now)).toBe(now - 30 * 60_000);
    expect(parseTime("2h", "--since", now)).toBe(now - 7_200_000);
    expect(parseTime("7d", "--since", now)).toBe(now - 7 * 86_400_000);
    expect(parseTime("1.5s", "--since", now)).toBe(now - 1500);
    for (const bad of ["", "yesterday", "30", "-5m", "2025-13-01", "1e3m", "12:00"]) {
      expect(() => parseTime(bad, "--since", now), bad).toThrow(CliError);
    }
  });

  it("cli - progress: drawn with \\r on a terminal, throttled, cleared at the end; nothing at all when not a terminal", () => {
    const written: string[] = [];
    let t = 0;
    const p = progressLine("replayed", { isTTY: true, write: (s) => (written.push(s), true) }, () => t);
    p.update(0, 1000);
    t = 50;
    p.update(500, 1000); // throttled
    t = 200;
    p.update(500, 1000);
    p.update(1000, 1000); // the last one is always drawn
    p.finish();
    expect(written[0]).toBe(`\rreplayed [${"-".repeat(30)}] 0/1000 0%`);
    expect(written[1]).toBe(`\rreplayed [${"#".repeat(15)}${"-".repeat(15)}] 500/1000 50%`);
    expect(written[2]).toContain("1000/1000 100%");
    expect(written[3]).toMatch(/^\r +\r$/);
    expect(written).toHaveLength(4);
    const none: string[] = [];
    const q = progressLine("replayed", { isTTY: false, write: (s) => (none.push(s), true) });
    q.update(1, 2);
    q.finish();
    expect(none).toEqual([]);
  });

  it("cli - ask: y/yes in any case is yes, anything else no, EOF without an answer undefined", async () => {
    const answer = async (input: string | undefined, end = true): Promise<boolean | undefined> => {
      const stdin = new PassThrough();
      const stderr = new PassThrough();
      const pending = ask("Go?", stdin, stderr);
      if (input !== undefined) stdin.write(input);
      if (end) stdin.end();
      return pending;
    };
    expect(await answer("y\n", false)).toBe(true);
    expect(await answer(" YES \n")).toBe(true);
    expect(await answer("yes")).toBe(true);
    expect(await answer("n\n")).toBe(false);
    expect(await answer("yep\n")).toBe(false);
    expect(await answer(undefined)).toBeUndefined();
  });

  it("cli - scrub: URL passwords masked, and a password from the arguments blanked wherever it appears", () => {
    const secrets = secretsIn(["--url", "amqp://user:hunter22@host:5672/", undefined, "redis://:p%40ss@h/0", "x://u:ab@h"]);
    expect(secrets).toEqual(expect.arrayContaining(["hunter22", "p%40ss", "p@ss"]));
    expect(secrets).not.toContain("ab");
    expect(scrub("failed: amqp://user:hunter22@host:5672/ said hunter22 and p@ss", secrets)).toBe("failed: amqp://user:***@host:5672/ said *** and ***");
  });
});
