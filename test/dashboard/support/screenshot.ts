/** Screenshots for docs/dashboard.md: written when missing, or every run with MISSIVE_SCREENSHOTS=1. */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";

export async function screenshot(png: Buffer, name: string): Promise<void> {
  expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
  const file = join(process.cwd(), "docs", "dashboard", name);
  if (process.env["MISSIVE_SCREENSHOTS"] === "1" || !existsSync(file)) writeFileSync(file, png);
}
