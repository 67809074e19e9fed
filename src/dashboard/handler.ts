/**
 * `dashboardHandler(options)`: the whole console as one plain Node request
 * handler, `(req, res, next?) => void`. Standalone it is the server's only
 * handler (`missive dashboard`); mounted, it answers under `prefix` and calls
 * `next()` (or answers 404) for anything else, so it sits in node:http,
 * Express (`app.use(handler)`), Fastify or Hono (their raw Node request and
 * response) alike. A thin shell over the dead-letter admin and the
 * transport's queue inspection; no framework.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { MessageDefinition } from "../contract/define-message.js";
import { ConfigurationError, isMissiveError } from "../errors.js";
import { noopLogger, type Logger } from "../observability/logger.js";
import { redact } from "../redact.js";
import type { Bus } from "../runtime/bus.js";
import type { DeadLetterDatabase } from "../stores/dead-letters.js";
import { deadLetterAdmin, type DeadLetterAdmin } from "../runtime/dead-letter-admin.js";
import { rateLimitSettings, type RateLimitOptions } from "../runtime/token-bucket.js";
import { canInspectQueues, inspectsKeyBacklog, REPORT_RETENTION_MS, reportsServices } from "../transport/abilities.js";
import { serviceLevel, type ServiceLevelOption } from "../runtime/service-level.js";
import type { ServiceLevel } from "../transport/service-report.js";
import type { Transport } from "../transport/transport.js";
import { ApiRoutes } from "./api-routes.js";
import { AlertWatch, type AlertOptions } from "./alerts.js";
import { AuditTrail } from "./audit.js";
import { Editor } from "./edit.js";
import { LiveFeed } from "./live-feed.js";
import { ServiceFeed } from "./service-feed.js";
import { Redriver } from "./redrive.js";
import { DashboardRequestError } from "./request-error.js";
import { Gate, type DashboardToken } from "./security.js";
import { loadStaticFiles } from "./static-files.js";

export interface DashboardOptions {
  /** The transport to show; give this or `bus`. */
  readonly transport?: Transport;
  /** A bus to show (its transport, and its dead-letter store: a database one when it has one). */
  readonly bus?: Bus;
  /** With `transport`: show this database dead-letter store (replays go through the transport) instead of the transport's own. */
  readonly deadLetters?: DeadLetterDatabase;
  /** Required on every request when set: one token, or several with labels the audit trail records. Default: none (loopback only). */
  readonly token?: string | readonly DashboardToken[];
  /** Refuse every action (403) and hide the buttons. Default false. */
  readonly readOnly?: boolean;
  /** Contracts an edit from the page is checked against, by type; an edit of a type without one is refused. Default: none. */
  readonly contracts?: readonly MessageDefinition[];
  /** The path the dashboard answers under, e.g. `/ops/missive`. Default: none (the root). */
  readonly prefix?: string;
  /** Pace of replays. Default 100 a second. */
  readonly replayRate?: RateLimitOptions;
  /** Append every audit record to this file as a JSON line. Default: memory only. */
  readonly auditFile?: string;
  /** Dead-letter alerts shown on the page: a total and a rise within a window (5 minutes by default). Default: none. */
  readonly alerts?: AlertOptions;
  /**
   * Service levels by message type, e.g. `{ "order.created": "95%<30s" }`: shown met or not from the services'
   * reports over the chart window. They win over a consumer's own `slo` option for that type. Default: none
   * (a consumer's own levels still show).
   */
  readonly slo?: Readonly<Record<string, ServiceLevelOption | string>>;
  /** How often the one server-side poll reads the queues, ms. Default 1000. */
  readonly pollIntervalMs?: number;
  /** What the page says it is connected to (a broker URL is shown with its password redacted). Default: the transport's name. */
  readonly source?: string;
  readonly logger?: Logger;
}

export type DashboardHandler = ((req: IncomingMessage, res: ServerResponse, next?: () => void) => void) & {
  /** End the live streams and the poll loop (before closing the server). */
  close(): void;
};

/** Strict: only this origin's files run; nothing inline, nothing framed. Message bodies are never markup, and even if one were, it could not run. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

export const DEFAULT_REPLAY_RATE: RateLimitOptions = { perSecond: 100 };

export function dashboardHandler(options: DashboardOptions): DashboardHandler {
  const transport = options.bus?.transport ?? options.transport;
  if (transport === undefined) throw new ConfigurationError("dashboardHandler needs a transport or a bus");
  const logger = options.logger ?? noopLogger;
  const prefix = (options.prefix ?? "").replace(/\/+$/, "");
  if (prefix !== "" && !prefix.startsWith("/")) throw new ConfigurationError(`prefix must start with /, got ${JSON.stringify(prefix)}`);
  const gate = new Gate(options.token);
  const admin = adminOf(options, transport, logger);
  const audit = new AuditTrail(options.auditFile, logger);
  const pollMs = options.pollIntervalMs ?? 1000;
  if (!Number.isFinite(pollMs) || pollMs < 100 || pollMs > 3_600_000) throw new ConfigurationError(`pollIntervalMs must be from 100 to 3600000, got ${String(pollMs)}`);
  const services = new ServiceFeed(reportsServices(transport) ? (since) => transport.readReports(since) : undefined, levelsOf(options.slo), REPORT_RETENTION_MS, logger);
  const feed = new LiveFeed(canInspectQueues(transport) ? async () => (await transport.stats()).filter((s) => !s.temporary) : undefined, pollMs, logger, new AlertWatch(options.alerts), services,
    inspectsKeyBacklog(transport) ? (limit) => transport.keyBacklog(limit) : undefined);
  const rate = rateLimitSettings(options.replayRate ?? DEFAULT_REPLAY_RATE, "replayRate");
  const redriver = admin === undefined ? undefined : new Redriver(admin, audit, logger, rate);
  redriver?.onProgress((p) => feed.broadcast("progress", p));
  audit.onRecord((r) => feed.broadcast("audit", r));
  const editor = admin === undefined ? undefined : new Editor(admin, new Map((options.contracts ?? []).map((c) => [c.type, c])), audit);
  const files = loadStaticFiles();
  const api = new ApiRoutes({
    admin, audit, feed, redriver, editor, gate,
    readOnly: options.readOnly === true,
    info: { transport: transport.name, source: redact(options.source ?? transport.name), replayRate: rate.perSecond, readOnly: options.readOnly === true },
  });

  const handler = (req: IncomingMessage, res: ServerResponse, next?: () => void): void => {
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    if (prefix !== "" && url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) {
      if (next) return next();
      return void answer(res, 404, "text/plain; charset=utf-8", "not found");
    }
    const path = url.pathname.slice(prefix.length);
    setSecurityHeaders(res);
    // The page's own address as the browser sees it (a framework may have stripped its mount path from req.url).
    const original = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? "/";
    // The page's links are relative: it must be opened as `<mount>/`, also where a framework turned `<mount>` into `/`.
    const originalPath = original.split("?")[0]!;
    if (path === "" || (path === "/" && !originalPath.endsWith("/"))) return void redirect(res, `${originalPath}/`);
    const queryToken = url.searchParams.get("token") ?? undefined;
    const who = gate.who(req, queryToken);
    if (who === undefined) {
      return void answer(res, 401, "text/plain; charset=utf-8", "missive dashboard: a token is required (open the page with ?token=… once, or send Authorization: Bearer …)");
    }
    if (queryToken !== undefined && gate.required && req.method === "GET") {
      // Keep it (only a token that is one) in an HttpOnly cookie and take it out of the address bar (history, Referer).
      if (gate.labelOf(queryToken) !== undefined) gate.rememberToken(res, queryToken);
      url.searchParams.delete("token");
      const rest = url.searchParams.toString();
      return void redirect(res, `${original.split("?")[0]}${rest === "" ? "" : `?${rest}`}`);
    }
    if (path.startsWith("/api/")) {
      api.handle(req, res, path.slice("/api".length), url.searchParams, who).catch((err: unknown) => failed(res, err, logger));
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") return void answer(res, 405, "text/plain; charset=utf-8", "method not allowed");
    const name = path === "/" ? "index.html" : path.startsWith("/ui/") ? path.slice("/ui/".length) : undefined;
    const file = name === undefined ? undefined : files.get(name);
    if (file === undefined) return void answer(res, 404, "text/plain; charset=utf-8", "not found");
    if (name === "index.html") gate.session(req, res);
    res.statusCode = 200;
    res.setHeader("content-type", file.type);
    res.setHeader("cache-control", "no-cache");
    res.end(req.method === "HEAD" ? undefined : file.body);
  };
  return Object.assign(handler, { close: () => feed.close() });
}

function levelsOf(slo: DashboardOptions["slo"]): Map<string, ServiceLevel> {
  const levels = new Map<string, ServiceLevel>();
  for (const [type, level] of Object.entries(slo ?? {})) levels.set(type, serviceLevel(level, `slo of ${type}`));
  return levels;
}

function adminOf(options: DashboardOptions, transport: Transport, logger: Logger): DeadLetterAdmin | undefined {
  const contracts = options.contracts === undefined ? {} : { contracts: options.contracts };
  if (options.bus && options.deadLetters) throw new ConfigurationError("dashboardHandler: deadLetters goes with transport; a bus brings its own dead-letter store");
  try {
    return options.bus ? options.bus.deadLetters(contracts) : deadLetterAdmin(transport, { ...contracts, ...(options.deadLetters ? { deadLetters: options.deadLetters } : {}) });
  } catch (err) {
    // No store: the queues still show; the dead-letter views say why they are empty.
    logger.warn({ err }, "dashboard: no dead-letter store to show");
    return undefined;
  }
}

function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader("content-security-policy", CONTENT_SECURITY_POLICY);
  res.setHeader("x-content-type-options", "nosniff");
  res.setHeader("referrer-policy", "no-referrer");
  res.setHeader("x-frame-options", "DENY");
  res.setHeader("cross-origin-opener-policy", "same-origin");
}

function answer(res: ServerResponse, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader("content-type", type);
  res.setHeader("cache-control", "no-store");
  res.end(body);
}

function redirect(res: ServerResponse, location: string): void {
  res.statusCode = 303;
  res.setHeader("location", location);
  res.end();
}

/** An error from a request: a refusal says why (4xx); anything else is logged and answered 500, its message redacted. */
export function failed(res: ServerResponse, err: unknown, logger: Logger): void {
  if (res.headersSent) {
    logger.error({ err }, "dashboard: a request failed after its answer began");
    res.destroy();
    return;
  }
  const refused = err instanceof DashboardRequestError ? err.status : isMissiveError(err) && err.code === "MISSIVE_CONFIG" ? 400 : undefined;
  const message = redact(err instanceof Error ? err.message : String(err));
  if (refused === undefined) logger.error({ err }, "dashboard: a request failed");
  answer(res, refused ?? 500, "application/json; charset=utf-8", JSON.stringify({ error: message }));
}
