/**
 * The ingest record: its zod schema (validation at the edge, once) and the normalisation that
 * turns a valid input into the stored `LogRecord`. Pure: the clock and the key generator are
 * passed in.
 */
import * as z from "zod";
import { zodMessages } from "../http/validate";
import { MAX_ATTRIBUTE_NUMBER, MAX_BYTES, MAX_LATENCY_MS } from "./bounds";
import {
  isSecretSegment,
  isSensitiveKey,
  REDACTED,
  redactRequestPath,
  scrubAndCut,
  scrubField,
  scrubNumber,
  type ScrubOptions,
  scrubText,
  splitPath,
  truncateAndScrubError,
} from "../redact";
import { redactRoute, templateRoute } from "./route-template";
import type { LogRecord } from "../records/log-record";

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;
export const MAX_ATTRIBUTES = 32;
export const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;

const attributeValue = z.union([
  z.string().max(1024),
  z
    .number()
    .min(-MAX_ATTRIBUTE_NUMBER, "must be within ±(2^53 - 1)")
    .max(MAX_ATTRIBUTE_NUMBER, "must be within ±(2^53 - 1)"),
  z.boolean(),
]);
const optionalText = (max: number) => z.string().max(max).nullish();
const byteCount = z.number().int().nonnegative().max(MAX_BYTES, `must be at most ${MAX_BYTES} (1 TiB)`).nullish();
const duration = z.number().finite().nonnegative().max(MAX_LATENCY_MS, `must be at most ${MAX_LATENCY_MS} (1 day)`);
/** Largest epoch ms a Date holds (year 275760); the 5-minute future limit applies after it. */
const MAX_EPOCH_MS = 8.64e15;

/** Schema of one record as clients send it. Unknown fields are dropped. */
export const logRecordInput = z.object({
  timestamp: z.union([
    z.number().int().nonnegative().max(MAX_EPOCH_MS, "must be epoch ms"),
    z.string().regex(ISO_WITH_OFFSET, "must be ISO 8601 with a UTC offset (e.g. 2026-01-01T12:00:00Z) or epoch ms"),
  ]),
  service: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._-]+$/, "must be 1-64 characters of A-Z a-z 0-9 . _ -"),
  method: z
    .string()
    .min(1)
    .max(16)
    .regex(/^[A-Za-z]+$/, "must be an HTTP method name"),
  path: z.string().min(1).max(2048).startsWith("/", "must start with /"),
  status: z.number().int().min(100).max(599),
  latency_ms: duration,
  route: z.string().min(1).max(256).startsWith("/", "must start with /").nullish(),
  id: z.string().min(1).max(128).nullish(),
  request_bytes: byteCount,
  response_bytes: byteCount,
  ttfb_ms: duration.nullish(),
  // Any length (the body is bounded at 1 MiB): cut at 1,000 characters during normalisation.
  error: z.string().nullish(),
  response_empty: z.boolean().nullish(),
  inconsistent: z.boolean().nullish(),
  request_id: optionalText(128),
  client_ip: optionalText(64),
  user_agent: z.string().nullish(),
  consumer: optionalText(128),
  region: optionalText(64),
  /** The service's version that answered (a release tag, a commit); a new one is a deploy marker. */
  version: z
    .string()
    .regex(/^[A-Za-z0-9._+:@/-]{1,64}$/, "must be 1-64 characters of A-Z a-z 0-9 . _ + : @ / -")
    .nullish(),
  attributes: z
    .record(z.string().min(1).max(64), attributeValue)
    .refine((a) => Object.keys(a).length <= MAX_ATTRIBUTES, `at most ${MAX_ATTRIBUTES} attributes`)
    .nullish(),
});
export type LogRecordInput = z.infer<typeof logRecordInput>;

export type { LogRecord } from "../records/log-record";

export interface NormaliseContext {
  now: number;
  retentionMs: number;
  newKey: () => string;
  /** Redact email addresses in path, query, error and the other text fields (default true; env `REDACT_EMAILS`). */
  redactEmails?: boolean;
}

export type RecordResult = { ok: true; record: LogRecord } | { ok: false; errors: string[] };

const USER_AGENT_MAX = 512;

/** A consumer name scrubbed like free text, and redacted whole when it is itself a token. */
function scrubConsumer(consumer: string, options: ScrubOptions): string {
  return isSecretSegment(consumer.trim()) ? REDACTED : scrubText(consumer, options);
}

/** Epoch ms of a timestamp, or NaN for a calendar date that does not exist (2026-02-30). */
function parseTimestamp(value: number | string): number {
  if (typeof value === "number") return value;
  const [year, month, day] = value.slice(0, 10).split("-").map(Number) as [number, number, number];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return Number.NaN;
  return Date.parse(value);
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"]);

/** Upper-cased method; anything but the standard ones counts as `OTHER`, so methods cannot multiply endpoints. */
export function normaliseMethod(method: string): string {
  const upper = method.toUpperCase();
  return METHODS.has(upper) ? upper : "OTHER";
}

/**
 * The storage key of a record: stable for a client id, fresh otherwise. A client id is unique per
 * endpoint (service, method, route as normalised, before the route cap): the same id on two
 * endpoints is two records, the same record sent twice is one. `#` ends the route (a route never
 * holds one: `cleanRoute` cuts at `?` and `#`), so the id after it cannot make two keys equal.
 */
export function recordKey(
  endpoint: Pick<LogRecord, "service" | "method" | "route">,
  clientId: string | null | undefined,
  newKey: () => string,
): string {
  return clientId ? `c:${endpoint.service}:${endpoint.method}:${endpoint.route}#${clientId}` : `g:${newKey()}`;
}

/** Validates one input and normalises it, or lists field-level errors. */
export function normaliseRecord(input: unknown, ctx: NormaliseContext): RecordResult {
  const parsed = logRecordInput.safeParse(input);
  if (!parsed.success) return { ok: false, errors: zodMessages(parsed.error) };
  const r = parsed.data;

  const timestamp = parseTimestamp(r.timestamp);
  if (!Number.isFinite(timestamp)) return { ok: false, errors: ["timestamp: not a valid date"] };
  if (timestamp > ctx.now + FUTURE_TOLERANCE_MS) {
    return { ok: false, errors: ["timestamp: more than 5 minutes in the future"] };
  }
  if (timestamp < ctx.now - ctx.retentionMs) {
    return { ok: false, errors: ["timestamp: older than the raw-log retention"] };
  }

  // Secrets and emails leave path and route before anything else reads them (src/redact/path.ts).
  const scrub: ScrubOptions = { emails: ctx.redactEmails ?? true };
  const path = redactRequestPath(r.path, scrub);
  const method = normaliseMethod(r.method);
  const route = r.route ? redactRoute(r.route, scrub) : templateRoute(splitPath(r.path).pathname);
  const attributes = r.attributes
    ? Object.fromEntries(
        Object.entries(r.attributes).map(([k, v]) => [
          k,
          isSensitiveKey(k)
            ? REDACTED
            : typeof v === "string"
              ? scrubText(v, scrub)
              : typeof v === "number"
                ? scrubNumber(v)
                : v,
        ]),
      )
    : null;

  return {
    ok: true,
    record: {
      key: recordKey({ service: r.service, method, route }, r.id, ctx.newKey),
      timestamp,
      received_at: ctx.now,
      service: r.service,
      method,
      route,
      path,
      status: r.status,
      latency_ms: r.latency_ms,
      ttfb_ms: r.ttfb_ms ?? null,
      request_bytes: r.request_bytes ?? null,
      response_bytes: r.response_bytes ?? null,
      error: r.error ? truncateAndScrubError(r.error, scrub) : null,
      response_empty: r.response_empty ?? false,
      inconsistent: r.inconsistent ?? false,
      id: r.id ?? null,
      request_id: r.request_id != null ? scrubField(r.request_id, scrub) : null,
      client_ip: r.client_ip ?? null,
      user_agent: r.user_agent ? scrubAndCut(r.user_agent, USER_AGENT_MAX, scrub) : null,
      consumer: r.consumer != null ? scrubConsumer(r.consumer, scrub) : null,
      region: r.region ?? null,
      attributes,
      ...(r.version ? { version: r.version } : {}),
      source: "ingest",
    },
  };
}

/** The Durable Object name of a record's endpoint: (service, method, route). */
export function endpointName(r: Pick<LogRecord, "service" | "method" | "route">): string {
  return `${r.service} ${r.method} ${r.route}`;
}
