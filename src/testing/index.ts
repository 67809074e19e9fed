/**
 * `missive/testing`: the seam suite, for a transport written here or
 * anywhere else. Needs vitest (an optional peer dependency). Public exports only.
 */
export { runSeamSuite } from "./seam-suite.js";
export { seamFeatures, featureMismatches } from "./seam-target.js";
export type { SeamTarget, SeamFeatures, SeamBehaviour, PlainPublisher } from "./seam-target.js";
