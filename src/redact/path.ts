/**
 * Secrets in URL paths, found segment by segment before the path is stored or a route is built
 * from it. A segment is a secret by its shape (a JWT, a Luhn-valid card number, a cloud key or
 * a prefixed token such as `sk_live_`, `user:password@host`, a long random token); the path
 * keeps `[redacted]` in its place and the route a placeholder (route-template.ts), so neither
 * ever holds it. Matrix parameters (`;jsessionid=...`) have their sensitive values redacted in
 * the path and are dropped from routes. Pure and import-free but for the other src/redact/ modules, so the Hono
 * middleware can bundle it. Every check is a scan or an unambiguous pattern: linear time.
 */
import { redactEmails } from "./emails";
import { REDACTED, redactQuery, splitPath } from "./keys";
import { luhnValid, type ScrubOptions } from "./secrets";
import { scrubText } from "./text";

const JWT = /^eyJ[A-Za-z0-9_=-]{8,}\.[A-Za-z0-9_.=-]+$/;
const CARD_LIKE = /^[0-9][0-9 -]*$/;
// `user:password@host` without its scheme (the `//` split it off into earlier segments).
const USERINFO_SEGMENT = /^[^:@]+:[^@]*@[^@]+$/;
// A scheme starts only where no scheme character precedes it, so each run is tried once.
const USERINFO_IN_PATH = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)[^/?#@]+@/gi;
const TOKEN_CHARS = /^[A-Za-z0-9_\-+=.~]+$/;
const SEPARATORS = /[-_.~+]/;
const MATRIX_PAIR = /^([^=]*)=(.*)$/s;
// Fast path for the common segment of letters and digits only (`users`, `123`, `9f86d081`):
// of the text scrubber's shapes only these can match such a word whole (the others need a
// `_`, `-`, `.`, space or `=`), so the full scrubber is skipped for it.
const PLAIN_WORD = /^[A-Za-z0-9]*$/;
const PLAIN_KEY = /^(?:(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z]{30,})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Shortest run counted as a random token, and the entropy (bits per character) it must reach. */
export const RANDOM_TOKEN_MIN_CHARS = 24;
const RANDOM_TOKEN_MIN_BITS = 3.5;

/** Percent-decoded segment, or the segment as written when it does not decode. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Shannon entropy of the characters of `s`, in bits per character. */
export function entropyBits(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * A long random token: 24+ characters of a base64/base62 alphabet mixing upper case, lower case
 * and digits, spread out (entropy), and not a slug of words. Hex and single-case ids (hashes,
 * ULIDs, UUIDs) are not: they stay ids.
 */
export function isRandomToken(s: string): boolean {
  if (s.length < RANDOM_TOKEN_MIN_CHARS || !TOKEN_CHARS.test(s)) return false;
  if (!/[A-Z]/.test(s) || !/[a-z]/.test(s) || !/[0-9]/.test(s)) return false;
  const words = s.split(SEPARATORS);
  if (words.length > 1 && words.every((w) => w.length < 8 || /^[A-Za-z]+$/.test(w))) return false;
  return entropyBits(s) >= RANDOM_TOKEN_MIN_BITS;
}

/** A card number (13-19 digits, optionally grouped by spaces or dashes, starting 2-6) passing Luhn. */
function isCardNumber(s: string): boolean {
  if (!CARD_LIKE.test(s)) return false;
  const digits = s.replace(/[ -]/g, "");
  return digits.length >= 13 && digits.length <= 19 && /^[2-6]/.test(digits) && luhnValid(digits);
}

/**
 * A text field (request id, user agent) scrubbed like free text, with a fast path for the
 * common request id that cannot hold a secret or an email: a UUID or a run of hex digits.
 */
export function scrubField(value: string, options: ScrubOptions): string {
  // Hex with at least one letter: digits alone could be a card number.
  if (UUID.test(value) || (/^[0-9a-f]{1,64}$/i.test(value) && /[a-f]/i.test(value))) return value;
  return scrubText(value, options);
}

/** True when a segment already carries one of our redaction markers (`[redacted]`, `[email redacted]`). */
export function isRedactedMarker(segment: string): boolean {
  return segment.includes("redacted]");
}

/**
 * True when a path segment (without matrix parameters) looks like a secret: a JWT, a card
 * number, `user:password@host`, a long random token, or anything the text scrubber redacts
 * (cloud keys such as AKIA/ASIA ids, `sk_live_`/`ghp_`/`xoxb-` tokens, `token=...`).
 */
export function isSecretSegment(segment: string): boolean {
  if (segment === "" || isRedactedMarker(segment)) return false;
  const s = decodeSegment(segment);
  if (PLAIN_WORD.test(s)) return isCardNumber(s) || PLAIN_KEY.test(s) || isRandomToken(s);
  if (UUID.test(s)) return false;
  return JWT.test(s) || isCardNumber(s) || USERINFO_SEGMENT.test(s) || isRandomToken(s) || scrubText(s) !== s;
}

/** A segment split at its first `;` into the segment proper and its matrix parameters. */
export function splitMatrix(segment: string): { base: string; params: string[] } {
  const semi = segment.indexOf(";");
  if (semi === -1) return { base: segment, params: [] };
  return { base: segment.slice(0, semi), params: segment.slice(semi + 1).split(";") };
}

/** A matrix parameter with a sensitive value redacted (by its key or its shape). */
function redactMatrixParam(param: string, options: ScrubOptions): string {
  const pair = MATRIX_PAIR.exec(param);
  if (!pair) return isSecretSegment(param) ? REDACTED : scrubText(param, options);
  const [, key = "", value = ""] = pair;
  const byKey = redactQuery(`${key}=${value}`);
  if (byKey !== `${key}=${value}`) return byKey;
  return `${key}=${isSecretSegment(value) ? REDACTED : scrubText(value, options)}`;
}

/** One path segment as stored: `[redacted]` for a secret, emails redacted when asked. */
export function redactSegment(segment: string, options: ScrubOptions = {}): string {
  const { base, params } = splitMatrix(segment);
  let kept = base;
  if (isSecretSegment(base)) kept = REDACTED;
  else if (options.emails && (base.includes("@") || base.includes("%40"))) {
    // Not a secret, so only an email can be left to redact.
    const decoded = decodeSegment(base);
    const scrubbed = redactEmails(decoded);
    if (scrubbed !== decoded) kept = scrubbed;
  }
  return [kept, ...params.map((p) => redactMatrixParam(p, options))].join(";");
}

/**
 * A request path (with its query) as stored: secret segments replaced by `[redacted]`, URL
 * userinfo (`https://user:pass@`) redacted, sensitive query values redacted by key and secrets
 * in the query by shape; emails too when `options.emails`. The fragment is dropped.
 */
export function redactRequestPath(path: string, options: ScrubOptions = {}): string {
  const { pathname, query } = splitPath(path);
  // `scheme://user:pass@` spans segments: redacted over the whole path first.
  const noUserinfo = pathname.replace(USERINFO_IN_PATH, `$1${REDACTED}@`);
  const redacted = noUserinfo
    .split("/")
    .map((s) => redactSegment(s, options))
    .join("/");
  return query === undefined ? redacted : `${redacted}?${scrubText(redactQuery(query), options)}`;
}
