/** Sensitive keys (query, header, JSON, matrix parameters) and the redaction of URL queries and paths. Pure. */

const SENSITIVE_EXACT = new Set(["key", "token", "auth", "code", "sig", "jwt", "pass", "pwd", "sid"]);
// `auth` only as a word of the key (`auth`, `x-auth`, `authorization`), so `author` stays readable.
const SENSITIVE_PART =
  /(token|secret|passw(or)?d|api[-_]?key|signature|session|sessid|cookie|credential|private[-_]?key|access[-_]?key|(^|[-_.])key$|(^|[-_.])sid$|(^|[-_.])auth([-_.]|orization|$))/;

/** True when a query-string key names a value that must never be stored. */
export function isSensitiveKey(rawKey: string): boolean {
  let key = rawKey;
  try {
    key = decodeURIComponent(rawKey.replace(/\+/g, " "));
  } catch {
    // Undecodable keys are judged as written.
  }
  key = key.toLowerCase().trim();
  return SENSITIVE_EXACT.has(key) || SENSITIVE_PART.test(key);
}

export const REDACTED = "[redacted]";

// `key=value` pairs of a query, split on `&`, `;` and a stray second `?` alike.
const QUERY_PAIR = /(^|[&;?])([^=&;?]*)=([^&;?]*)/g;
// Matrix parameters in a path (`/cart;jsessionid=abc`).
const MATRIX_PARAM = /;([^=;/?]+)=([^;/?]*)/g;

/** Replaces the values of sensitive keys in a query string (without the leading `?`). */
export function redactQuery(query: string): string {
  return query.replace(QUERY_PAIR, (match, sep: string, key: string) =>
    isSensitiveKey(key) ? `${sep}${key}=${REDACTED}` : match,
  );
}

/** Splits a path into its path part and its query (without `?`), dropping any fragment. */
export function splitPath(path: string): { pathname: string; query: string | undefined } {
  const hash = path.indexOf("#");
  const noFragment = hash === -1 ? path : path.slice(0, hash);
  const q = noFragment.indexOf("?");
  if (q === -1) return { pathname: noFragment, query: undefined };
  return { pathname: noFragment.slice(0, q), query: noFragment.slice(q + 1) };
}

/** A request path with sensitive query values redacted. */
export function redactPath(path: string): string {
  const split = splitPath(path);
  const pathname = split.pathname.replace(MATRIX_PARAM, (match, key: string) =>
    isSensitiveKey(key) ? `;${key}=${REDACTED}` : match,
  );
  return split.query === undefined ? pathname : `${pathname}?${redactQuery(split.query)}`;
}
