/**
 * The JSON API the page talks to (docs/dashboard.md lists it). Reads are
 * GETs; the one action, a redrive, is a POST that passes the CSRF check and
 * is refused in read-only mode. Every answer is JSON, never cached.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DeadLetterAdmin, DeadLetterEntry } from "../runtime/dead-letter-admin.js";
import type { AuditTrail } from "./audit.js";
import type { Editor } from "./edit.js";
import { failureGroups, storeFiltersInIndex } from "./failure-groups.js";
import { signatureKey } from "./signature.js";
import type { LiveFeed } from "./live-feed.js";
import { redriveRequestOf, type Redriver } from "./redrive.js";
import { redactDeep } from "./redact-deep.js";
import { DashboardRequestError } from "./request-error.js";
import type { Gate } from "./security.js";
import { scan, selectorOf } from "./selection.js";
import { rowOf, wholeOf } from "./views.js";

export interface ApiContext {
  readonly admin: DeadLetterAdmin | undefined;
  readonly audit: AuditTrail;
  readonly feed: LiveFeed;
  readonly redriver: Redriver | undefined;
  readonly editor: Editor | undefined;
  readonly gate: Gate;
  readonly readOnly: boolean;
  readonly info: Readonly<Record<string, unknown>>;
}

/** Rows per page of the dead-letter list, by default and at most. */
const PAGE = 50;
const MAX_PAGE = 500;
/** Entries one list request reads at most while looking for matches of a search or signature. */
const LIST_SCAN_BUDGET = 20_000;
/** Largest POST body. */
const MAX_BODY = 256 * 1024;

export class ApiRoutes {
  constructor(private readonly ctx: ApiContext) {}

  async handle(req: IncomingMessage, res: ServerResponse, path: string, params: URLSearchParams, who: string): Promise<void> {
    const method = req.method ?? "GET";
    if (method === "POST") return this.post(req, res, path, who);
    if (method !== "GET") throw new DashboardRequestError(405, "method not allowed");
    if (path === "/session") {
      const session = this.ctx.gate.session(req, res);
      return json(res, { ...this.ctx.info, who, csrf: this.ctx.gate.csrfOf(session), deadLetters: this.ctx.admin !== undefined });
    }
    if (path === "/events") return this.ctx.feed.attach(res);
    if (path === "/queues") return json(res, await this.ctx.feed.snapshot());
    if (path === "/services") return json(res, await this.ctx.feed.servicesSnapshot());
    if (path === "/audit") return json(res, { records: this.ctx.audit.list() });
    if (path === "/groups") return json(res, await failureGroups(this.admin(), selectorOf(params)));
    if (path === "/dead-letters") return json(res, await this.list(params));
    if (path.startsWith("/dead-letters/")) {
      const entry = await this.admin().get(decodedSegment(path.slice("/dead-letters/".length)));
      if (entry === undefined) throw new DashboardRequestError(404, "no dead letter with that entry id (replayed or discarded meanwhile?)");
      return json(res, wholeOf(entry));
    }
    throw new DashboardRequestError(404, "no such API path");
  }

  private async post(req: IncomingMessage, res: ServerResponse, path: string, who: string): Promise<void> {
    this.ctx.gate.checkAction(req);
    if (this.ctx.readOnly) throw new DashboardRequestError(403, "the dashboard is read-only");
    if (path === "/edit") return this.edit(req, res, who);
    if (path !== "/redrive") throw new DashboardRequestError(404, "no such API path");
    const redriver = this.ctx.redriver;
    if (redriver === undefined) throw new DashboardRequestError(409, "this transport has no dead-letter store to act on");
    const { action, target, dryRun } = redriveRequestOf(await readJson(req));
    if (dryRun) return json(res, await redriver.dryRun(action, target, who));
    return json(res, await redriver.start(action, target, who), 202);
  }

  /** `{ entryId, data, dryRun? }`: 200 with the outcome (a refusal by the contract included, with its issues and the diff). */
  private async edit(req: IncomingMessage, res: ServerResponse, who: string): Promise<void> {
    if (this.ctx.editor === undefined) throw new DashboardRequestError(409, "this transport has no dead-letter store to act on");
    const body = await readJson(req);
    if (body === null || typeof body !== "object" || Array.isArray(body)) throw new DashboardRequestError(400, "the body must be a JSON object");
    const { entryId, data, dryRun } = body as Record<string, unknown>;
    if (typeof entryId !== "string" || entryId === "") throw new DashboardRequestError(400, "entryId must be a string");
    if (!Object.hasOwn(body, "data")) throw new DashboardRequestError(400, "data is missing");
    if (dryRun !== undefined && typeof dryRun !== "boolean") throw new DashboardRequestError(400, "dryRun must be a boolean");
    return json(res, await this.ctx.editor.edit(entryId, data, dryRun === true, who));
  }

  private admin(): DeadLetterAdmin {
    if (this.ctx.admin === undefined) throw new DashboardRequestError(409, "this transport has no dead-letter store (keep dead letters in a database: the bus's deadLetters option)");
    return this.ctx.admin;
  }

  /** A page of matching rows; `next` resumes the scan where it stopped (the last entry read, matching or not). */
  private async list(params: URLSearchParams): Promise<Record<string, unknown>> {
    const selector = selectorOf(params);
    const limitText = params.get("limit");
    const limit = limitText === null ? PAGE : Number(limitText);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new DashboardRequestError(400, `limit must be an integer from 1 to ${MAX_PAGE}`);
    const after = params.get("after") ?? undefined;
    // A failure group's own list, from the store's index when it keeps one: no scan, however large the store.
    if (selector.signature !== undefined && storeFiltersInIndex(selector)) {
      const from = after === undefined || after === "" ? {} : { after };
      const group = selector.query.group === undefined ? {} : { group: selector.query.group };
      const entries = await this.admin().indexedEntriesOf(signatureKey(selector.signature), { ...group, ...from, limit });
      if (entries !== undefined) return { entries: entries.map(rowOf), next: entries.length === limit ? entries[entries.length - 1]!.entryId : null, scanned: entries.length, truncated: false };
    }
    const rows: DeadLetterEntry[] = [];
    let next: string | null = null;
    let scanned = 0;
    let truncated = false;
    for await (const page of scan(this.admin(), selector, { budget: LIST_SCAN_BUDGET, ...(after === undefined || after === "" ? {} : { after }) })) {
      scanned = page.read;
      truncated = page.truncated;
      next = page.last;
      for (const e of page.matches) {
        rows.push(e);
        if (rows.length === limit) {
          next = e.entryId;
          break;
        }
      }
      if (rows.length === limit) break;
    }
    // No next page when the scan reached the end of the store.
    const more = rows.length === limit || truncated;
    return { entries: rows.map(rowOf), next: more ? next : null, scanned, truncated };
  }
}

function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // A malformed %-escape cannot name an entry.
    throw new DashboardRequestError(400, "the entry id in the path is not valid percent-encoding");
  }
}

function json(res: ServerResponse, value: unknown, status = 200): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("cache-control", "no-store");
  res.end(JSON.stringify(redactDeep(value)));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers["content-type"] ?? "";
  // Also a CSRF measure: a plain HTML form cannot send application/json.
  if (!/^application\/json\b/i.test(type)) throw new DashboardRequestError(400, "the body must be application/json");
  // Mounted behind the app's own JSON parser (Express's express.json()), the stream is already read: take what it parsed.
  const parsed = (req as IncomingMessage & { body?: unknown }).body;
  if (parsed !== undefined && req.readableEnded) return parsed;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new DashboardRequestError(413, "the body is too large");
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    // The parser's message would only echo the body; the status says enough.
    throw new DashboardRequestError(400, "the body is not valid JSON");
  }
}
