/**
 * Secrets found by shape or by the key that names them: known token formats, private keys,
 * webhook URLs, credentials in URLs and auth headers, `key=value` pairs with a sensitive key,
 * and Luhn-valid card numbers. One pass over text as written (`scrubPlain`); text.ts adds the
 * percent-decoded pass. Pure.
 */
import { redactEmails } from "./emails";
import { isSensitiveKey, REDACTED } from "./keys";

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

// Secrets recognised by their shape wherever they appear. Stripe, OpenAI/Anthropic, Google,
// Slack, GitHub, GitLab, AWS access key ids, JWTs; a PEM private key block is dropped whole.
const KNOWN_TOKENS = new RegExp(
  `(?<![A-Za-z0-9_-])(?:${[
    "(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]+",
    "whsec_[A-Za-z0-9+/=]+",
    "sk-(?:proj|svcacct|admin|ant)-[A-Za-z0-9_-]{8,}",
    "sk-[A-Za-z0-9]{20,}",
    "AIza[0-9A-Za-z_-]{30,}",
    "xox[abeoprs]-[A-Za-z0-9-]{8,}",
    "xapp-[A-Za-z0-9-]{8,}",
    "gh[pousr]_[A-Za-z0-9]{16,}",
    "github_pat_[A-Za-z0-9_]{16,}",
    "glpat-[A-Za-z0-9_-]{16,}",
    "(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])",
    "eyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]*",
  ].join("|")})`,
  "g",
);
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g;
// Webhook URLs whose path is the credential.
const WEBHOOK_URL =
  /\b(https?:\/\/(?:hooks\.slack\.com\/(?:services|workflows|triggers)|(?:[a-z]+\.)?discord(?:app)?\.com\/api\/webhooks))\/[^\s"'<>]+/gi;
// A scheme starts only where no scheme character precedes it, so each run is tried once.
const USERINFO = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;
const BEARER = /\bBearer\s+[A-Za-z0-9\-._~+/]+=*/gi;
// `Basic` followed by base64 of `user:password`: checked by decoding, so "Basic plan" stays.
const BASIC = /\bBasic\s+([A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])/gi;

// `key=value`, `key: value`, `"key": "value"` (also with JSON-escaped quotes). Only the key and
// separator are matched; the value is read after it when the key is sensitive: a quoted string
// (redacted whole, spaces included; to the end of the line if the quote is cut off) or one
// token. After a key that is not sensitive the search resumes at its value, so a value holding
// a URL (`next=/cb?token=abc`) is searched too, in time linear in the text.
const PAIR_KEY = /(?<![\w.%+[\]-])(\\?["']?)([A-Za-z0-9_.%+[\]-]{1,64})\1(\s*[:=]\s*)/g;
// Sticky readers for a value: JSON-escaped, double- or single-quoted (the closing quote may be
// missing), or a bare token.
const ESCAPED_QUOTED = /\\"((?:(?!\\")[^\r\n])*)(?:\\"|)/y;
const DOUBLE_QUOTED = /"((?:[^"\\\r\n]|\\[^\r\n]?)*)"?/y;
const SINGLE_QUOTED = /'([^'\r\n]*)'?/y;
const BARE = /[^\s&;"'#}\]]*/y;
// Header values that are secret to the end of the line: a cookie list, or an auth scheme whose
// credential is several parameters.
const COOKIE_REST = /[^\r\n"]*/y;
const COOKIE_REST_IN_QUERY = /[^\r\n"&]*/y;
const LINE_REST = /[^\r\n]*/y;
const LINE_REST_IN_QUERY = /[^\r\n&]*/y;
// Auth schemes whose credential is one token (kept: what follows it); others lose the whole value.
const SINGLE_TOKEN_SCHEME = /^(Bearer|Basic|Token|ApiKey|Api-Key|Key|JWT|DPoP|Bot)(\s+)([^\s"',;]+)/i;
const OTHER_SCHEME =
  /^(Digest|Negotiate|NTLM|HOBA|Mutual|OAuth|Hawk|Signature|SharedKey(?:Lite)?|AWS4-HMAC-SHA256|SCRAM-SHA-(?:1|256)|GoogleLogin|PrivateToken|vapid)\s+\S/i;

/**
 * An Authorization value with the credential redacted and a known scheme name kept, and how
 * much of `value` that replaces: all of it, or (unquoted, one-token scheme) scheme and token.
 */
function redactAuthValue(value: string, quoted: boolean): { value: string; length: number } {
  const single = SINGLE_TOKEN_SCHEME.exec(value);
  if (single) return { value: `${single[1]}${single[2]}${REDACTED}`, length: quoted ? value.length : single[0].length };
  const other = OTHER_SCHEME.exec(value);
  return { value: other ? `${other[1]} ${REDACTED}` : REDACTED, length: value.length };
}

/** Runs a sticky pattern at `at`. */
function readAt(re: RegExp, text: string, at: number): RegExpExecArray | null {
  re.lastIndex = at;
  return re.exec(text);
}

/** The redacted form of the value at `at` and where the original value ends. */
function redactValueAt(text: string, at: number, key: string, isColon: boolean): { value: string; end: number } {
  const auth = key.endsWith("authorization");
  const quote = text.startsWith('\\"', at) ? '\\"' : text[at] === '"' || text[at] === "'" ? text.charAt(at) : "";
  if (quote !== "") {
    const m = readAt(quote === '\\"' ? ESCAPED_QUOTED : quote === '"' ? DOUBLE_QUOTED : SINGLE_QUOTED, text, at);
    const [whole = quote, inner = ""] = m ?? [];
    const closed = whole.length > quote.length && whole.endsWith(quote);
    return {
      value: `${quote}${auth ? redactAuthValue(inner, true).value : REDACTED}${closed ? quote : ""}`,
      end: at + whole.length,
    };
  }
  if (auth || key.includes("cookie")) {
    const rest = key.includes("cookie")
      ? isColon
        ? COOKIE_REST
        : COOKIE_REST_IN_QUERY
      : isColon
        ? LINE_REST
        : LINE_REST_IN_QUERY;
    const found = readAt(rest, text, at)?.[0] ?? "";
    const redacted = auth ? redactAuthValue(found, false) : { value: REDACTED, length: found.length };
    return { value: redacted.value, end: at + redacted.length };
  }
  const token = readAt(BARE, text, at)?.[0] ?? "";
  // After a colon a comma ends the value (`"pin": 1234, "page": 2`).
  const comma = isColon ? token.indexOf(",") : -1;
  return { value: REDACTED, end: at + (comma >= 0 ? comma : token.length) };
}

/** Redacts the value of every sensitive `key=value` / `key: value` pair in `text`. */
function redactPairs(text: string): string {
  let out = "";
  let last = 0;
  PAIR_KEY.lastIndex = 0;
  for (let m = PAIR_KEY.exec(text); m !== null; m = PAIR_KEY.exec(text)) {
    const [whole, , key = "", sep = ""] = m;
    const at = m.index + whole.length;
    const isColon = sep.includes(":");
    const lower = key.toLowerCase();
    // `code` is sensitive as an OAuth query parameter, not as in "status code: 502".
    if (!isSensitiveKey(key) || (isColon && lower === "code") || text.startsWith(REDACTED, at)) continue;
    const { value, end } = redactValueAt(text, at, lower, isColon);
    out += text.slice(last, at) + value;
    last = end;
    PAIR_KEY.lastIndex = Math.max(end, at);
  }
  return out + text.slice(last);
}

// Runs of digits grouped by one or two spaces or a single separator, starting like a card number
// (2-6), not inside a longer number: epoch-millisecond timestamps (starting with 1) stay.
const CARD = /(?<!\d)[2-6]\d*(?:(?: {1,2}|[\t\u00a0./_|-])\d+)*(?!\d)/g;
const CARD_SEPARATOR = /( {1,2}|[\t\u00a0./_|-])/;
const CARD_MIN_DIGITS = 13;
const CARD_MAX_DIGITS = 19;

/**
 * Redacts every card number inside a run of digit groups. The pattern is greedy, so a run can
 * hold a card plus neighbouring groups (`4111 1111 1111 1111 12/25`, `qty 3 4111 ...`): from
 * each group, windows of whole groups are tried up to 19 digits (so the work stays linear in
 * the run), the longest valid one wins.
 */
function redactCardInRun(run: string): string {
  const parts = run.split(CARD_SEPARATOR); // digits at even indexes, separators at odd
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

/** True when `b64` decodes to printable `user:password`. */
function isBasicCredential(b64: string): boolean {
  try {
    return /^[\x20-\x7e]*:[\x20-\x7e]*$/.test(atob(b64));
  } catch {
    return false;
  }
}

/** What the scrubbing covers beyond secrets. */
export interface ScrubOptions {
  /** Replace email addresses with `[email redacted]` (ingest: on unless `REDACT_EMAILS` is "false"). */
  emails?: boolean;
}

/** One pass over text as written. */
export function scrubPlain(text: string, options: ScrubOptions): string {
  const scrubbed = redactPairs(
    text
      .replace(PRIVATE_KEY, REDACTED)
      .replace(KNOWN_TOKENS, REDACTED)
      .replace(WEBHOOK_URL, `$1/${REDACTED}`)
      .replace(USERINFO, `$1${REDACTED}@`),
  )
    .replace(BEARER, `Bearer ${REDACTED}`)
    .replace(BASIC, (match, b64: string) => (isBasicCredential(b64) ? `Basic ${REDACTED}` : match))
    .replace(CARD, redactCardInRun);
  return options.emails ? redactEmails(scrubbed) : scrubbed;
}
