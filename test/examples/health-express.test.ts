import { describe, it } from "vitest";
import { walkProbes } from "./health-probes.js";

describe("examples - health-express", () => {
  it("health-express - Express answers /livez and /readyz 200 when up, /readyz 503 while the broker is down and back to 200 after, both 503 once the consumer failed", async () => {
    await walkProbes("health-express");
  }, 90_000);
});
