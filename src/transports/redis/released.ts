/**
 * A released entry (ADR 011) stays pending under its consumer, made idle
 * for a year so the next XAUTOCLAIM of any consumer takes it; anything idle
 * for more than a month is taken for released, never for in flight.
 */
export const RELEASED_IDLE_MS = 365 * 24 * 3600 * 1000;
export const RELEASED_AT_LEAST_MS = 30 * 24 * 3600 * 1000;
