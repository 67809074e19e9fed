/**
 * Spool tests' temp files and buses: `spoolPath()` is a fresh spool file in a
 * directory of its own, `keep(bus)` closes the bus after the test; both are
 * cleaned up after each test of the file that calls `spoolFiles()`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import type { Bus } from "../../src/index.js";

export interface SpoolFiles {
  spoolPath(): string;
  keep(bus: Bus): Bus;
}

export function spoolFiles(prefix: string, closeDeadlineMs = 500): SpoolFiles {
  const dirs: string[] = [];
  const buses: Bus[] = [];
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close({ deadline: closeDeadlineMs }).catch(() => undefined)));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    spoolPath() {
      const dir = mkdtempSync(join(tmpdir(), `missive-${prefix}-`));
      dirs.push(dir);
      return join(dir, "spool.db");
    },
    keep(bus) {
      buses.push(bus);
      return bus;
    },
  };
}
