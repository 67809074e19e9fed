/**
 * `sqlite://` URLs: `sqlite://./relative.db`, `sqlite://relative.db` and
 * `sqlite:///abs/path.db`. Parsed by hand because WHATWG URL parsing would
 * read the first path segment as a host name. Query parameters carry options:
 * `?synchronous=NORMAL&busyTimeoutMs=2000&pollMinMs=2&pollMaxMs=100&tablePrefix=app_&maxMessageBytes=1048576`.
 */
import { ConfigurationError } from "../../errors.js";
import type { SqliteSynchronous, SqliteTransportOptions } from "./options.js";

const SCHEME = "sqlite://";
const INTEGER_PARAMS = ["busyTimeoutMs", "pollMinMs", "pollMaxMs", "maxMessageBytes"] as const;

/** Parse a `sqlite://` URL into transport options. Throws ConfigurationError saying what is wrong. */
export function parseSqliteUrl(url: string): SqliteTransportOptions {
  if (typeof url !== "string") throw new ConfigurationError("sqlite transport: URL must be a string");
  if (!url.toLowerCase().startsWith(SCHEME)) {
    throw new ConfigurationError(`sqlite transport: URL must start with ${SCHEME} (e.g. sqlite://./missive.db or sqlite:///var/lib/app/missive.db), got ${JSON.stringify(redact(url))}`);
  }
  const rest = url.slice(SCHEME.length);
  const q = rest.indexOf("?");
  const rawPath = q === -1 ? rest : rest.slice(0, q);
  const query = q === -1 ? "" : rest.slice(q + 1);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch (cause) {
    throw new ConfigurationError(`sqlite transport: URL path ${JSON.stringify(rawPath)} has a malformed %-escape`, { cause });
  }
  if (path === "" || path === "/") throw new ConfigurationError(`sqlite transport: URL ${JSON.stringify(url)} names no database file`);
  const options: { -readonly [K in keyof SqliteTransportOptions]: SqliteTransportOptions[K] } = { path };
  for (const [name, value] of new URLSearchParams(query)) {
    if (name === "synchronous") options.synchronous = value.toUpperCase() as SqliteSynchronous;
    else if (name === "tablePrefix") options.tablePrefix = value;
    else if ((INTEGER_PARAMS as readonly string[]).includes(name)) {
      const n = Number(value);
      if (value.trim() === "" || !Number.isSafeInteger(n)) throw new ConfigurationError(`sqlite transport: URL parameter ${name} must be an integer, got ${JSON.stringify(value)}`);
      options[name as (typeof INTEGER_PARAMS)[number]] = n;
    } else {
      throw new ConfigurationError(`sqlite transport: unknown URL parameter ${JSON.stringify(name)} (known: synchronous, tablePrefix, ${INTEGER_PARAMS.join(", ")})`);
    }
  }
  return options;
}

// A URL of the wrong scheme may carry credentials: show only its scheme.
function redact(url: string): string {
  const i = url.indexOf("://");
  return i === -1 ? url.slice(0, 32) : `${url.slice(0, i)}://…`;
}
