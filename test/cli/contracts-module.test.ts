/**
 * The contracts module the CLI loads (issue 15, "CLI truths"): a module
 * exporting several versions of one type was refused as "two contracts"; a
 * `.ts` module failed with Node's own "Unknown file extension".
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadContracts } from "../../src/cli/contracts-module.js";

const dir = mkdtempSync(join(tmpdir(), "missive-contracts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schema = `{ "~standard": { version: 1, vendor: "t", validate: (v) => ({ value: v }) } }`;

describe("cli - contracts module", () => {
  it("regression - a module exporting v1 and v2 of one type is accepted; the newest is current", async () => {
    const file = join(dir, "versions.mjs");
    writeFileSync(file, `const schema = ${schema};
export const OrderV1 = { type: "order.placed", version: 1, schema };
export const OrderV2 = { type: "order.placed", version: 2, schema };
export const OrderV1Again = { type: "order.placed", version: 1, schema };
`);
    const found = await loadContracts(file);
    expect(found.get("order.placed")?.version).toBe(2);
  });

  it("two different contracts claiming the same type and version are still refused", async () => {
    const file = join(dir, "clash.mjs");
    writeFileSync(file, `export const A = { type: "x", version: 1, schema: ${schema} };
export const B = { type: "x", version: 1, schema: ${schema} };
`);
    await expect(loadContracts(file)).rejects.toThrow(/two contracts for x v1/);
  });

  it("regression - a .ts contracts module is loaded (through the project's tsx)", async () => {
    const file = join(dir, "contracts.ts");
    writeFileSync(file, `interface Standard { readonly "~standard": { version: 1; vendor: string; validate: (v: unknown) => { value: unknown } } }
const schema: Standard = ${schema};
export const Ping: { type: string; version: number; schema: Standard } = { type: "ping", version: 3, schema };
`);
    const found = await loadContracts(file);
    expect(found.get("ping")?.version).toBe(3);
  });
});
