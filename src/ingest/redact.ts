/**
 * Redaction that runs before anything is stored: sensitive query values, bearer tokens,
 * Luhn-valid card numbers and URL userinfo. Pure functions, no bindings.
 */

const SENSITIVE_EXACT = new Set([
  "key",
  "token",
  "auth",
  "code",
  "sig",
  "jwt",
  "pass",
  "pwd",
]);
// `auth` only as a word of the key (`auth`, `x-auth`, `authorization`), so `author` stays readable.
const SENSITIVE_PART =
  /(token|secret|passw(or)?d|api[-_]?key|signature|session|credential|private[-_]?key|access[-_]?key|(^|[-_.])key$|(^|[-_.])auth([-_.]|orization|$))/;

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

/** Replaces the values of sensitive keys in a query string (without the leading `?`). */
export function redactQuery(query: string): string {
  return query
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const key = eq === -1 ? pair : pair.slice(0, eq);
      if (eq === -1 || !isSensitiveKey(key)) return pair;
      return `${key}=${REDACTED}`;
    })
    .join("&");
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
  const { pathname, query } = splitPath(path);
  return query === undefined ? pathname : `${pathname}?${redactQuery(query)}`;
}

/** Luhn checksum over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

const BEARER = /\bBearer\s+[A-Za-z0-9\-._~+/]+=*/gi;
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;
// Runs of digits grouped by single spaces or dashes, starting like a card number (2-6):
// epoch-millisecond timestamps (starting with 1) are left alone.
const CARD = /\b[2-6]\d*(?:[ -]\d+)*\b/g;
const SENSITIVE_QUERY_IN_TEXT = /([?&])([^=&\s#]+)=([^&\s#]*)/g;

/**
 * Redacts the card number inside a run of digit groups. The pattern is greedy, so a run can
 * hold a card plus a neighbouring group (`4111 1111 1111 1111 12/25`, `qty 3 4111 ...`):
 * every window of whole groups is tried, longest first.
 */
function redactCardInRun(run: string): string {
  const groups = run.split(/([ -])/); // digits at even indexes, separators at odd
  const digitGroups = groups.filter((_, i) => i % 2 === 0);
  for (let len = digitGroups.length; len >= 1; len--) {
    for (let start = 0; start + len <= digitGroups.length; start++) {
      const digits = digitGroups.slice(start, start + len).join("");
      if (digits.length < 13 || digits.length > 19 || !/^[2-6]/.test(digits) || !luhnValid(digits)) continue;
      const before = groups.slice(0, start * 2).join("");
      const after = groups.slice((start + len) * 2 - 1).join("");
      return `${before}[card redacted]${after}`;
    }
  }
  return run;
}

/** Scrubs bearer tokens, card numbers, URL userinfo and sensitive query values out of free text. */
export function scrubText(text: string): string {
  return text
    .replace(BEARER, `Bearer ${REDACTED}`)
    .replace(USERINFO, `$1${REDACTED}@`)
    .replace(CARD, redactCardInRun)
    .replace(SENSITIVE_QUERY_IN_TEXT, (match, sep: string, key: string) =>
      isSensitiveKey(key) ? `${sep}${key}=${REDACTED}` : match,
    );
}

export const ERROR_MAX_CHARS = 1000;

/** Cuts `error` at 1,000 characters with a visible marker, then scrubs it. */
export function truncateAndScrubError(error: string): string {
  const scrubbed = scrubText(error);
  if (scrubbed.length <= ERROR_MAX_CHARS) return scrubbed;
  return `${scrubbed.slice(0, ERROR_MAX_CHARS)}…[truncated ${scrubbed.length - ERROR_MAX_CHARS} chars]`;
}
