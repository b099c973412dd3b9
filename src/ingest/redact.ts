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
// Runs of digits grouped by single spaces, dashes or dots, starting like a card number (2-6), not
// inside a longer number: epoch-millisecond timestamps (starting with 1) are left alone.
const CARD = /(?<!\d)[2-6]\d*(?:[ .-]\d+)*(?!\d)/g;
const SENSITIVE_PAIR_IN_TEXT = /(^|[?&;\s])([^=&;\s#?]+)=([^&;\s#]*)/g;
const CARD_MIN_DIGITS = 13;
const CARD_MAX_DIGITS = 19;

/**
 * Redacts every card number inside a run of digit groups. The pattern is greedy, so a run can
 * hold a card plus neighbouring groups (`4111 1111 1111 1111 12/25`, `qty 3 4111 ...`): from
 * each group, windows of whole groups are tried up to 19 digits (so the work stays linear in
 * the run), the longest valid one wins.
 */
function redactCardInRun(run: string): string {
  const parts = run.split(/([ .-])/); // digits at even indexes, separators at odd
  const groups = parts.filter((_, i) => i % 2 === 0);
  const out: string[] = [];
  let i = 0;
  while (i < groups.length) {
    let cardEnd = -1;
    let digits = "";
    for (let j = i; j < groups.length; j++) {
      digits += groups[j];
      if (digits.length > CARD_MAX_DIGITS) break;
      if (digits.length >= CARD_MIN_DIGITS && /^[2-6]/.test(digits) && luhnValid(digits)) cardEnd = j;
    }
    if (cardEnd >= 0) {
      out.push("[card redacted]");
      if (cardEnd + 1 < groups.length) out.push(parts[cardEnd * 2 + 1] ?? "");
      i = cardEnd + 1;
    } else {
      out.push(groups[i] ?? "");
      if (i + 1 < groups.length) out.push(parts[i * 2 + 1] ?? "");
      i++;
    }
  }
  return out.join("");
}

/** Scrubs bearer tokens, card numbers, URL userinfo and sensitive query values out of free text. */
export function scrubText(text: string): string {
  return text
    .replace(BEARER, `Bearer ${REDACTED}`)
    .replace(USERINFO, `$1${REDACTED}@`)
    .replace(CARD, redactCardInRun)
    .replace(SENSITIVE_PAIR_IN_TEXT, (match, sep: string, key: string) =>
      isSensitiveKey(key) ? `${sep}${key}=${REDACTED}` : match,
    );
}

/** A number attribute that is a card number becomes the redaction marker; any other stays. */
export function scrubNumber(value: number): number | string {
  if (!Number.isInteger(value) || value < 0) return value;
  const scrubbed = scrubText(String(value));
  return scrubbed === String(value) ? value : scrubbed;
}

export const ERROR_MAX_CHARS = 1000;

/** Characters past the cut that are still scrubbed, so a secret straddling it is caught whole. */
const SCRUB_MARGIN = 200;

/**
 * Cuts `error` at 1,000 characters with a visible marker and scrubs what is kept. Only the kept
 * part (plus a margin) is scrubbed, so the cost does not grow with the input.
 */
export function truncateAndScrubError(error: string): string {
  if (error.length <= ERROR_MAX_CHARS) return scrubText(error);
  const scrubbed = scrubText(error.slice(0, ERROR_MAX_CHARS + SCRUB_MARGIN));
  return `${scrubbed.slice(0, ERROR_MAX_CHARS)}…[truncated ${error.length - ERROR_MAX_CHARS} chars]`;
}

// Outbound text (alerts, AI prompts) gets more than stored text: besides `key=value`, secrets
// written as headers (`Cookie: a=b; c=d`, `Authorization: Basic ...`), as `key: value` or JSON
// pairs, and well-known token shapes (Stripe, GitHub, Slack, AWS, JWT, whsec_) are redacted.
const HEADER_LINE = /\b((?:set-)?cookie|authorization|proxy-authorization|x-api-key|api-key|x-auth-token)(\s*[:=]\s*)("?)[^\r\n"]*/gi;
const COLON_PAIR = /(["']?)([A-Za-z0-9_.-]{2,64})\1(\s*:\s*)("?)([^\s",;}]+)/g;
const KNOWN_TOKENS =
  /\b(?:(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]+|gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,}|xox[abposr]-[A-Za-z0-9-]+|AKIA[0-9A-Z]{16}|whsec_[A-Za-z0-9+/=]+|eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)/g;

/**
 * Scrubs free text that is about to leave the monitor (a webhook, Slack, PagerDuty, the AI
 * model): everything `scrubText` removes, plus header-style secrets, `key: value` pairs with a
 * sensitive key and well-known token shapes.
 */
export function scrubOutgoingText(text: string): string {
  return scrubText(
    text
      .replace(HEADER_LINE, (_m, name: string, sep: string, quote: string) => `${name}${sep}${quote}${REDACTED}`)
      .replace(COLON_PAIR, (match, q: string, key: string, sep: string, vq: string) =>
        isSensitiveKey(key) ? `${q}${key}${q}${sep}${vq}${REDACTED}` : match,
      )
      .replace(KNOWN_TOKENS, REDACTED),
  );
}

/**
 * Deep copy of a JSON value with every string scrubbed (`scrubOutgoingText`), every integer that
 * is a card number replaced, and the value of every sensitive key redacted whole.
 */
export function scrubDeep(value: unknown): unknown {
  if (typeof value === "string") return scrubOutgoingText(value);
  if (typeof value === "number") return scrubNumber(value);
  if (Array.isArray(value)) return value.map(scrubDeep);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = isSensitiveKey(k) && v !== null ? REDACTED : scrubDeep(v);
    return out;
  }
  return value;
}
