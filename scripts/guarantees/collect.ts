/**
 * Every test of the lanes the matrix reads, by name, without running any:
 * `vitest list --json` over the conformance, transports and faults projects.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { ListedTest } from "./render.js";

export const PROJECTS = ["conformance", "transports", "faults"] as const;

/** The tests of a `vitest list --json=PATH` file, paths made relative to `root`. */
export function readListedTests(root: string, path: string): ListedTest[] {
  const listed = JSON.parse(readFileSync(path, "utf8")) as Array<{ name: string; file: string }>;
  return listed.map((t) => ({ file: relative(root, t.file).replaceAll("\\", "/"), name: t.name }));
}

export function collectTests(root: string): ListedTest[] {
  const dir = mkdtempSync(join(tmpdir(), "missive-guarantees-"));
  try {
    const out = join(dir, "tests.json");
    const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
    execFileSync(process.execPath, [vitest, "list", `--json=${out}`, ...PROJECTS.flatMap((p) => ["--project", p])], {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
      // Listing imports every test file; on a busy 2-core machine that takes a while.
      timeout: 540_000,
    });
    return readListedTests(root, out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
