/**
 * A tiny HTTP probe for Kubernetes: a node:http request handler answering
 * `GET <prefix>/livez` and `GET <prefix>/readyz` with 200 or 503 and the
 * health snapshot as JSON. Usable standalone (`http.createServer(handler)`)
 * and mounted in Express (`app.use(handler)`) or Fastify (a route that
 * passes `request.raw, reply.raw`): it calls `next()` for any other path.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { BusHealth } from "../runtime/health.js";

/** What the probe reads: a bus, or anything with its `health()`. */
export interface HealthSource {
  health(): BusHealth;
}

export interface HealthHandlerOptions {
  /** Path prefix of both probes, e.g. `/health` for `/health/livez`. Default: none. */
  readonly prefix?: string;
}

export type HealthHandler = (req: IncomingMessage, res: ServerResponse, next?: () => void) => void;

export function healthHandler(source: HealthSource, options: HealthHandlerOptions = {}): HealthHandler {
  const prefix = (options.prefix ?? "").replace(/\/+$/, "");
  const live = `${prefix}/livez`;
  const ready = `${prefix}/readyz`;
  return (req, res, next) => {
    const path = (req.url ?? "/").split("?")[0];
    const which = path === live ? "live" : path === ready ? "ready" : undefined;
    if (which === undefined || (req.method !== "GET" && req.method !== "HEAD")) {
      if (next) return next();
      res.statusCode = 404;
      res.end();
      return;
    }
    const health = source.health();
    const ok = which === "live" ? health.live : health.ready;
    const body = JSON.stringify(health);
    res.statusCode = ok ? 200 : 503;
    res.setHeader("content-type", "application/json; charset=utf-8");
    res.setHeader("cache-control", "no-store");
    res.end(req.method === "HEAD" ? undefined : body);
  };
}
