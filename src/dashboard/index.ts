/**
 * `missive/dashboard`: the operator console as one Node request handler
 * (docs/dashboard.md). Mount it in node:http, Express, Fastify or Hono, or
 * run it standalone with `missive dashboard --url …`.
 */
export { dashboardHandler, CONTENT_SECURITY_POLICY, DEFAULT_REPLAY_RATE, type DashboardHandler, type DashboardOptions } from "./handler.js";
export type { DashboardToken } from "./security.js";
export type { AuditRecord } from "./audit.js";
export type { Alert, AlertOptions } from "./alerts.js";
export type { FailureSignature } from "./signature.js";
export { normaliseMessage } from "./signature.js";
export type { ServicesSnapshot } from "./service-feed.js";
export type { ServicesView, TypeSeries, SeriesPoint, LevelStatus, ProducerView } from "./service-view.js";
