/**
 * The package's entry points load only what they need: `import "missive"`
 * never loads pg, mysql2, kysely or better-sqlite3, and each store subpath
 * loads only its own client (they are optional peer dependencies).
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ensureBuilt } from "../cli/helpers.js";

const CLIENTS = ["pg", "mysql2", "kysely", "better-sqlite3"];

/** Bare package names resolved while importing `entry` in a fresh Node process (a module.register resolve hook). */
function packagesLoadedBy(entry: string): string[] {
  const hook = `data:text/javascript,${encodeURIComponent(
    "export async function resolve(s, c, next) { if (!s.startsWith('.') && !s.startsWith('/') && !s.startsWith('node:') && !s.startsWith('file:') && !s.startsWith('data:')) process.stdout.write('LOADED ' + s.split('/')[0] + '\\n'); return next(s, c); }",
  )}`;
  const script = `import { register } from "node:module"; register(${JSON.stringify(hook)}); await import(${JSON.stringify(entry)});`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: process.cwd(), encoding: "utf8" });
  return [...new Set(out.split("\n").filter((l) => l.startsWith("LOADED ")).map((l) => l.slice(7)))].filter((p) => CLIENTS.includes(p)).sort();
}

describe("entry points", () => {
  it("entry points - import 'missive' loads no database client; each store subpath loads its own only", () => {
    ensureBuilt();
    expect(packagesLoadedBy("missive")).toEqual([]);
    expect(packagesLoadedBy("missive/stores/postgres")).toEqual([]); // pg is only imported for types: the user passes the Pool
    expect(packagesLoadedBy("missive/stores/mysql")).toEqual([]);
    expect(packagesLoadedBy("missive/stores/sqlite")).toEqual([]);
    expect(packagesLoadedBy("missive/stores/kysely")).toEqual(["kysely"]);
    // The hook does see packages: the SQLite transport loads its driver.
    expect(packagesLoadedBy("missive/sqlite")).toEqual(["better-sqlite3"]);
  });
});
