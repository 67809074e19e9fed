/**
 * A caught error is never dropped without a word (STYLE.md): it is logged,
 * reported, propagated, or, when dropping it is truly right, a comment on
 * the same or the previous line says why. A cheap line-based lint, so a new
 * `() => undefined` error handler fails here instead of in an incident.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "../../src");

/** Handlers that drop an error: `.catch(() => undefined)`, `on("error", () => {})`, a `then` rejection handler, an empty catch block. */
const SWALLOWING = [
  /\.catch\(\s*\(\)\s*=>\s*(undefined|\{\s*\}|void 0)\s*\)/,
  /\.on\(\s*["']error["']\s*,\s*\(\)\s*=>\s*(undefined|\{\s*\})\s*\)/,
  /,\s*\(\)\s*=>\s*undefined\s*,?\s*\)\s*;?\s*$/,
  /catch\s*(\(\s*\w*\s*\))?\s*\{\s*\}/,
];

/**
 * Files another change of issue 13 rewrites (the consumer as middleware, item 7); its two handlers
 * (a start failure the bus logs, a give-back whose lease just runs out) get their comment there.
 */
const PENDING = new Set(["runtime/consumer.ts"]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [path] : [];
  });
}

const isComment = (line: string | undefined): boolean => line !== undefined && /(\/\/|\/\*|^\s*\*)/.test(line);

/** Every swallowing line in `text` with no comment on it or on the line before. */
export function uncommentedSwallows(text: string): number[] {
  const lines = text.split("\n");
  const found: number[] = [];
  lines.forEach((line, i) => {
    const emptyBlock = /catch\s*(\(\s*\w*\s*\))?\s*\{\s*$/.test(line) && /^\s*\}/.test(lines[i + 1] ?? "");
    if (!emptyBlock && !SWALLOWING.some((re) => re.test(line))) return;
    if (isComment(line) || isComment(lines[i - 1])) return;
    found.push(i + 1);
  });
  return found;
}

describe("lint - swallowed errors", () => {
  it("lint - every error handler in src that drops its error has a comment saying why", () => {
    const offenders = sourceFiles(SRC).flatMap((file) => {
      const name = relative(SRC, file).split("\\").join("/");
      if (PENDING.has(name)) return [];
      return uncommentedSwallows(readFileSync(file, "utf8")).map((line) => `src/${name}:${line}`);
    });
    expect(offenders).toEqual([]);
  });

  it("lint - the check bites: uncommented handlers are found, commented ones pass", () => {
    expect(uncommentedSwallows(["x.catch(() => undefined);", "ch.on(\"error\", () => {});", "try { a(); } catch {}", "p.then(f, () => undefined);"].join("\n"))).toEqual([1, 2, 3, 4]);
    expect(uncommentedSwallows(["try {", "  a();", "} catch {", "}"].join("\n"))).toEqual([3]);
    expect(uncommentedSwallows(["// the caller sees it", "x.catch(() => undefined);", "y.catch(() => undefined); // expected"].join("\n"))).toEqual([]);
    expect(uncommentedSwallows("x.catch((err: unknown) => log.warn({ err }, \"failed\"));")).toEqual([]);
  });
});
