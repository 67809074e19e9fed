/** Small optional abilities whose promise is their shape: DurabilityReporting. */
import { expect, it } from "vitest";
import { reportsDurability } from "../transport/abilities.js";
import type { SeamContext } from "./seam-context.js";

export function abilityTests(s: SeamContext): void {
  if (s.features.durabilityReporting) {
    it("seam - durability() says what a confirm means, with the settings it read and its warnings", async () => {
      const t = await s.open();
      if (!reportsDurability(t)) throw new Error(`${t.name}: declared durabilityReporting but has no durability()`);
      const report = await t.durability();
      expect(typeof report.confirm).toBe("string");
      expect(report.confirm.length).toBeGreaterThan(0);
      for (const value of Object.values(report.settings)) expect(typeof value).toBe("string");
      expect(Array.isArray(report.warnings)).toBe(true);
      for (const warning of report.warnings) expect(typeof warning).toBe("string");
    });
  }
}
