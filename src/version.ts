/** The package version, stamped into dead-letter diagnostics. Kept in step with package.json by a test. */
export const MISSIVE_VERSION = "0.1.0";
