/** Text scrubbing as stored and as sent: percent-decoded runs, cut limits, numbers, deep JSON. Pure. */
import { isSensitiveKey, REDACTED } from "./keys";
import { scrubPlain, type ScrubOptions } from "./secrets";

const PERCENT = /%[0-9A-Fa-f]{2}/;

/** Decodes valid %XX sequences (up to three levels deep) and leaves invalid ones as written. */
function percentDecode(run: string): string {
  let out = run;
  for (let depth = 0; depth < 3 && PERCENT.test(out); depth++) {
    const next = out.replace(/(?:%[0-9A-Fa-f]{2})+/g, (seq) => {
      try {
        return decodeURIComponent(seq);
      } catch {
        return seq;
      }
    });
    if (next === out) break;
    out = next;
  }
  return out;
}

/**
 * Scrubs secrets out of free text: credentials after sensitive keys (`token=`, `"password": "..."`,
 * `Authorization: Basic ...`, `Cookie: a=b; c=d`), bearer and Basic credentials, well-known token
 * shapes, webhook URLs, URL userinfo and Luhn-valid card numbers. A word holding percent-encoding
 * (`?next=%2Fcb%3Ftoken%3Dabc`) is decoded and scrubbed again; if that finds a secret, the word is
 * kept decoded with the secret redacted. With `emails`, email addresses are redacted too.
 */
export function scrubText(text: string, options: ScrubOptions = {}): string {
  const once = scrubPlain(text, options);
  if (!PERCENT.test(once)) return once;
  return once.replace(/[^\s"'<>]+/g, (word) => {
    if (!PERCENT.test(word)) return word;
    const decoded = percentDecode(word);
    const scrubbed = scrubPlain(decoded, options);
    return scrubbed === decoded ? word : scrubbed;
  });
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

/** Scrubs the start of `text` (plus a margin) and cuts it at `max` characters, without a marker. */
export function scrubAndCut(text: string, max: number, options: ScrubOptions = {}): string {
  return scrubText(text.slice(0, max + SCRUB_MARGIN), options).slice(0, max);
}

/**
 * Cuts `error` at 1,000 characters with a visible marker and scrubs what is kept. Only the kept
 * part (plus a margin) is scrubbed, so the cost does not grow with the input.
 */
export function truncateAndScrubError(error: string, options: ScrubOptions = {}): string {
  if (error.length <= ERROR_MAX_CHARS) return scrubText(error, options);
  const scrubbed = scrubText(error.slice(0, ERROR_MAX_CHARS + SCRUB_MARGIN), options);
  return `${scrubbed.slice(0, ERROR_MAX_CHARS)}…[truncated ${error.length - ERROR_MAX_CHARS} chars]`;
}

/**
 * Scrubs free text that is about to leave the monitor (a webhook, Slack, PagerDuty, the AI
 * model). The same rules as at ingest: rows stored by an older version, or written straight to
 * D1, are scrubbed again on the way out.
 */
export function scrubOutgoingText(text: string): string {
  return scrubText(text);
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
