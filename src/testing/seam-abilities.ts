/** Small optional abilities whose promise is their shape: DurabilityReporting, BrokerPing. */
import { expect, it } from "vitest";
import { canPing, reportsDurability } from "../transport/abilities.js";
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
  if (s.features.ping) {
    it("seam - ping() resolves while the broker would take a publish, and is refused once the transport is closed", async () => {
      const t = await s.open();
      if (!canPing(t)) throw new Error(`${t.name}: the target says ping but the transport has no ping()`);
      await t.ping();
      await t.close();
      await expect(t.ping()).rejects.toThrow();
    });
  }
}
