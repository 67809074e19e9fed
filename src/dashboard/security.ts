/**
 * Who may use the dashboard and how an action proves it came from its own
 * page. A token (when set) is taken from `Authorization: Bearer`, or from a
 * cookie the page sets once from `?token=` (then the token leaves the URL, so
 * it is not kept in history or sent on in a Referer). Every POST must be
 * same-origin (Origin and Sec-Fetch-Site, when the browser sends them, which
 * every current one does) and carry a per-session CSRF token in a header,
 * which a page of another origin can neither read nor set: a malicious page
 * cannot make an operator's browser replay or discard anything, not even a
 * dashboard on loopback with no token.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ConfigurationError } from "../errors.js";
import { DashboardRequestError } from "./request-error.js";

/** A token and the name it is recorded under in the audit trail. */
export interface DashboardToken {
  readonly label: string;
  readonly token: string;
}

export const TOKEN_COOKIE = "missive_dashboard_token";
export const SESSION_COOKIE = "missive_dashboard_session";
export const CSRF_HEADER = "x-missive-csrf";

const digest = (text: string): Buffer => createHash("sha256").update(text).digest();

export class Gate {
  private readonly tokens: ReadonlyArray<{ label: string; hash: Buffer }>;
  /** Signs session ids into CSRF tokens; new per process, so a restart ends every session. */
  private readonly secret = randomBytes(32);

  constructor(token: string | readonly DashboardToken[] | undefined) {
    const list = token === undefined ? [] : typeof token === "string" ? [{ label: "token", token }] : token;
    for (const t of list) {
      if (typeof t.token !== "string" || t.token.length < 8) throw new ConfigurationError("a dashboard token must be a string of at least 8 characters");
      if (typeof t.label !== "string" || t.label === "") throw new ConfigurationError("a dashboard token needs a label (the name the audit trail records)");
    }
    this.tokens = list.map((t) => ({ label: t.label, hash: digest(t.token) }));
  }

  get required(): boolean {
    return this.tokens.length > 0;
  }

  /** Who is asking: a token's label, or `local` when no token is set. Undefined when a token is required and none matches. */
  who(req: IncomingMessage, queryToken?: string): string | undefined {
    if (!this.required) return "local";
    const auth = req.headers.authorization;
    const bearer = auth !== undefined && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, "").trim() : undefined;
    for (const candidate of [bearer, queryToken, cookiesOf(req).get(TOKEN_COOKIE)]) {
      const label = this.labelOf(candidate);
      if (label !== undefined) return label;
    }
    return undefined;
  }

  /** The label of the token `candidate` is, if it is one. */
  labelOf(candidate: string | undefined): string | undefined {
    if (candidate === undefined || candidate === "") return undefined;
    const hash = digest(candidate);
    return this.tokens.find((t) => timingSafeEqual(t.hash, hash))?.label;
  }

  /** The session id of the request, set as a cookie when it has none yet. */
  session(req: IncomingMessage, res: ServerResponse): string {
    const existing = cookiesOf(req).get(SESSION_COOKIE);
    if (existing !== undefined && /^[0-9a-f]{64}$/.test(existing)) return existing;
    const id = randomBytes(32).toString("hex");
    appendCookie(res, `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict`);
    return id;
  }

  csrfOf(session: string): string {
    return createHmac("sha256", this.secret).update(session).digest("hex");
  }

  /** Throws DashboardRequestError (403) unless the POST is same-origin and carries its session's CSRF token. */
  checkAction(req: IncomingMessage): void {
    const site = req.headers["sec-fetch-site"];
    if (site !== undefined && site !== "same-origin") throw new DashboardRequestError(403, `cross-site request refused (Sec-Fetch-Site: ${String(site)})`);
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host ?? ""}` && origin !== `https://${req.headers.host ?? ""}`) {
      throw new DashboardRequestError(403, "cross-origin request refused (Origin does not match Host)");
    }
    const session = cookiesOf(req).get(SESSION_COOKIE);
    const sent = req.headers[CSRF_HEADER];
    if (session === undefined || typeof sent !== "string") throw new DashboardRequestError(403, `missing CSRF token: send the ${CSRF_HEADER} header the session endpoint gives`);
    const expected = Buffer.from(this.csrfOf(session));
    const got = Buffer.from(sent);
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new DashboardRequestError(403, "wrong CSRF token");
  }

  /** Remember a `?token=` that matched, as an HttpOnly cookie. */
  rememberToken(res: ServerResponse, token: string): void {
    appendCookie(res, `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`);
  }
}

export function cookiesOf(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const at = part.indexOf("=");
    if (at < 0) continue;
    const name = part.slice(0, at).trim();
    let value = part.slice(at + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // A malformed escape: keep the raw value, which then simply matches nothing.
    }
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

function appendCookie(res: ServerResponse, cookie: string): void {
  const prior = res.getHeader("set-cookie");
  const list = prior === undefined ? [] : Array.isArray(prior) ? prior : [String(prior)];
  res.setHeader("set-cookie", [...list, cookie]);
}

/** True for the addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === "::ffff:127.0.0.1";
}
