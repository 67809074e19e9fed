/**
 * Which dead letters a view or an action means: a store query (type, group,
 * error, message id, time range; filtered by the store itself) narrowed by
 * what the store cannot filter on: a failure signature, the message key and a payload search.
 * Entries are read page by page, oldest first, so a store of any size is
 * walked in bounded memory; a scan stops at a budget and says so.
 */
import type { DeadLetterAdmin, DeadLetterEntry } from "../runtime/dead-letter-admin.js";
import { checkQuery } from "../transport/dead-letter-query.js";
import type { DeadLetterQuery } from "../transport/transport.js";
import { matchesPayload, parsePayloadSearch, type PayloadSearch } from "./payload-search.js";
import { DashboardRequestError } from "./request-error.js";
import { parseSignatureKey, sameSignature, signatureOf, type FailureSignature } from "./signature.js";

export interface Selector {
  readonly query: DeadLetterQuery;
  readonly signature: FailureSignature | undefined;
  readonly search: PayloadSearch | undefined;
  /** The message key (the ordering key), exactly. */
  readonly key: string | undefined;
}

/** Entries read per store call while scanning. */
const PAGE = 500;

/** The selector named by URL parameters (or a POST body's `filter`): type, group, error, id, key, since, until, signature, search. */
export function selectorOf(params: URLSearchParams): Selector {
  const text = (name: string): string | undefined => {
    const v = params.get(name)?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  const error = text("error");
  const query: DeadLetterQuery = {
    ...(text("type") !== undefined ? { topic: text("type") } : {}),
    ...(text("group") !== undefined ? { group: text("group") } : {}),
    ...(error !== undefined ? (/^MISSIVE_/.test(error) ? { errorCode: error } : { errorClass: error }) : {}),
    ...(text("id") !== undefined ? { messageId: text("id") } : {}),
    ...(text("since") !== undefined ? { since: timeOf(text("since")!, "since") } : {}),
    ...(text("until") !== undefined ? { until: timeOf(text("until")!, "until") } : {}),
  };
  const key = text("signature");
  const signature = key === undefined ? undefined : parseSignatureKey(key);
  if (key !== undefined && signature === undefined) throw new DashboardRequestError(400, "signature is not a failure group's key");
  // A signature names its type and error: the store filters on them, the dashboard on the pattern.
  const narrowed: DeadLetterQuery = signature === undefined ? query : {
    ...query,
    topic: signature.type,
    ...(signature.errorCode !== undefined ? { errorCode: signature.errorCode } : {}),
    ...(signature.errorClass !== undefined ? { errorClass: signature.errorClass } : {}),
  };
  checkQuery(narrowed);
  const search = text("search");
  return { query: narrowed, signature, search: search === undefined ? undefined : parsePayloadSearch(search), key: text("key") };
}

/** The same selector from a JSON object of string values (a POST body). */
export function selectorFromJson(value: unknown): Selector {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new DashboardRequestError(400, "filter must be an object of strings");
  const params = new URLSearchParams();
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== "string") throw new DashboardRequestError(400, `filter ${name} must be a string`);
    params.set(name, v);
  }
  return selectorOf(params);
}

/** An ISO time, or unix ms. */
function timeOf(value: string, name: string): number {
  const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(t)) throw new DashboardRequestError(400, `${name} must be an ISO time or unix ms, got ${JSON.stringify(value.slice(0, 40))}`);
  return t;
}

export function matches(entry: DeadLetterEntry, selector: Selector): boolean {
  if (selector.key !== undefined && entry.key !== selector.key) return false;
  if (selector.signature !== undefined && !sameSignature(signatureOf(entry), selector.signature)) return false;
  if (selector.search !== undefined && !matchesPayload(entry, selector.search)) return false;
  return true;
}

export interface ScanOptions {
  /** Start after this entry id. */
  readonly after?: string;
  /** Most entries read from the store before the scan stops (`truncated`). Default: no bound. */
  readonly budget?: number;
  /** Only entries dead-lettered at or before this (an action fixes it at its start, so it always ends). */
  readonly until?: number;
}

/**
 * Matching entries page by page. Each yielded page holds the matches of one
 * store page (possibly none) and `last`, the store page's last entry id, a
 * cursor to resume from.
 */
export async function* scan(admin: DeadLetterAdmin, selector: Selector, options: ScanOptions = {}): AsyncGenerator<{ matches: DeadLetterEntry[]; last: string; read: number; truncated: boolean }> {
  const query: DeadLetterQuery = options.until === undefined ? selector.query : { ...selector.query, until: Math.min(selector.query.until ?? Infinity, options.until) };
  let after = options.after;
  let read = 0;
  for (;;) {
    const limit = options.budget === undefined ? PAGE : Math.min(PAGE, options.budget - read);
    if (limit <= 0) return;
    const page = await admin.list({ ...query, limit, ...(after === undefined ? {} : { after }) });
    if (page.length === 0) return;
    read += page.length;
    after = page[page.length - 1]!.entryId;
    const full = page.length === limit;
    yield { matches: page.filter((e) => matches(e, selector)), last: after, read, truncated: full && options.budget !== undefined && read >= options.budget };
    if (!full) return;
  }
}
