/** The page's files ship in the package, and the built module finds them (the path resolves from dist/ as from src/). */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../cli/helpers.js";

beforeAll(() => ensureBuilt());

describe("dashboard - package", () => {
  it("dashboard - package: npm pack includes every UI file, and dist/dashboard loads them", async () => {
    const ui = readdirSync(join(process.cwd(), "src", "dashboard", "ui")).sort();
    expect(ui).toEqual(expect.arrayContaining(["index.html", "app.js", "api.js", "dom.js", "dead-letters.js", "services.js", "charts.js", "style.css"]));
    const packed = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { encoding: "utf8" })) as [{ files: { path: string }[] }];
    const files = packed[0].files.map((f) => f.path);
    for (const name of ui) expect(files).toContain(`src/dashboard/ui/${name}`);
    expect(files).toContain("dist/dashboard/index.js");
    const built = (await import(pathToFileURL(join(process.cwd(), "dist", "dashboard", "static-files.js")).href)) as typeof import("../../src/dashboard/static-files.js");
    expect([...built.loadStaticFiles().keys()].sort()).toEqual(ui);
  });
});
