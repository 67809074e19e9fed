/**
 * The seam suite: every promise written in the seam's doc comments
 * (src/transport/transport.ts, abilities.ts) as a test, run on the real
 * broker. Which tests exist is decided from the target's features when the
 * suite is declared: a test a transport cannot take is not registered at
 * all, never skipped (under CI a skip is a failure), and the features are
 * checked against every transport the suite opens.
 *
 *   import { runSeamSuite, seamFeatures } from "missive/testing";
 *   runSeamSuite({ name: "mine", features: seamFeatures(myTransport(url), {...}), open: () => myTransport(url) });
 */
import { describe } from "vitest";
import type { Transport } from "../transport/transport.js";
import { abilityTests } from "./seam-abilities.js";
import { useSeamContext } from "./seam-context.js";
import { coreTests } from "./seam-core.js";
import { deadLetterTests } from "./seam-dead-letters.js";
import { deliveryTests } from "./seam-delivery.js";
import { orderingTests } from "./seam-ordering.js";
import { runtimeTests } from "./seam-runtime.js";
import { statsTests } from "./seam-stats.js";
import type { SeamTarget } from "./seam-target.js";

export function runSeamSuite<T extends Transport>(target: SeamTarget<T>): void {
  describe(`seam - ${target.name}`, () => {
    const s = useSeamContext(target);
    const f = target.features;
    coreTests(s);
    deliveryTests(s);
    if (f.ordering === "key") orderingTests(s);
    if (f.queueInspection) statsTests(s);
    if (f.nativeDeadLetters) deadLetterTests(s);
    abilityTests(s);
    runtimeTests(s);
  });
}
