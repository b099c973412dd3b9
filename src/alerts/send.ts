/**
 * One delivery attempt of one message to one channel. Bounded: 10 s for the whole exchange,
 * redirects are not followed (a 3xx is a failure: a receiver that moved must be reconfigured,
 * and a redirect must not carry a signed alert somewhere else), and at most 4 KiB of the
 * response body is read, then dropped. The channel URL is checked against the URL policy again
 * before anything is sent (a channel stored under an older policy, or written to D1 directly, is
 * refused here). Never throws: the result says what happened.
 */
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { alertDeliveries } from "../db/schema";
import { log } from "../lib/log";
import { REDACTED, scrubOutgoingText } from "../redact";
import { alertUrlPolicy, channelUrlProblems, type AlertUrlPolicy } from "./channel-url";
import { maskChannelUrl, type StoredChannel } from "./channels";
import { buildRequest, type AlertMessage } from "./payloads";
import { errorMessage } from "../lib/errors";

export const DELIVERY_TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 4096;
const ERROR_MAX_CHARS = 300;

export interface DeliveryResult {
  ok: boolean;
  /** The receiver's HTTP status, null when there was no answer. */
  status: number | null;
  error: string | null;
  duration_ms: number;
}

export type Fetch = (request: Request) => Promise<Response>;

/** Reads at most `max` bytes of a body and cancels the rest (the connection is not held open). */
async function drain(body: ReadableStream<Uint8Array> | null, max: number): Promise<void> {
  if (!body) return;
  const reader = body.getReader();
  let read = 0;
  try {
    while (read < max) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // A body that fails half-way changes nothing: the status already said how it went.
  }
}

/**
 * An error text safe to store in `alert_deliveries` (readable with the read key): the channel's
 * URL, a credential for Slack, is replaced by its masked form wherever it appears (as written,
 * normalised or percent-encoded), then the text is scrubbed (which masks any other Slack URL).
 */
export function maskChannelInError(channel: Pick<StoredChannel, "type" | "url">, text: string): string {
  let masked: string = REDACTED;
  const forms = new Set([channel.url, encodeURIComponent(channel.url)]);
  try {
    masked = maskChannelUrl(channel.type, channel.url);
    const href = new URL(channel.url).href;
    forms.add(href).add(encodeURIComponent(href));
  } catch {
    // An unparsable URL is replaced whole.
  }
  let out = text;
  for (const form of [...forms].sort((a, b) => b.length - a.length)) out = out.split(form).join(masked);
  return scrubOutgoingText(out);
}

function describe(err: unknown, timeoutMs: number, channel: StoredChannel): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError"))
    return `timeout after ${timeoutMs} ms`;
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return maskChannelInError(channel, text).slice(0, ERROR_MAX_CHARS);
}

/**
 * Sends `message` to `channel` once; 2xx is delivered. `fetcher` is replaceable for tests; the
 * URL policy defaults to the worker's own setting (`ALLOW_LOOPBACK_ALERT_URLS`).
 */
export async function deliver(
  channel: StoredChannel,
  message: AlertMessage,
  fetcher: Fetch = (request) => fetch(request),
  opts: { timeoutMs?: number } & Partial<AlertUrlPolicy> = {},
): Promise<DeliveryResult> {
  const timeoutMs = opts.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  const policy = { allowLoopback: opts.allowLoopback ?? alertUrlPolicy(env).allowLoopback };
  const started = Date.now();
  const done = (status: number | null, error: string | null): DeliveryResult => ({
    ok: error === null,
    status,
    error,
    duration_ms: Date.now() - started,
  });
  const problems = channelUrlProblems(channel.url, policy);
  if (problems.length > 0)
    return done(
      null,
      maskChannelInError(channel, `not sent: the channel URL ${problems.join("; ")}`).slice(0, ERROR_MAX_CHARS),
    );
  let request: Request;
  try {
    const built = await buildRequest(channel, message, started);
    request = new Request(built.url, {
      method: "POST",
      headers: built.headers,
      body: built.body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    return done(null, `cannot build the request: ${describe(err, timeoutMs, channel)}`);
  }
  try {
    const res = await fetcher(request);
    await drain(res.body, MAX_RESPONSE_BYTES);
    if (res.status >= 200 && res.status < 300) return done(res.status, null);
    if (res.status >= 300 && res.status < 400) return done(res.status, `redirect (HTTP ${res.status}) not followed`);
    return done(res.status, `HTTP ${res.status}`);
  } catch (err) {
    return done(null, describe(err, timeoutMs, channel));
  }
}

/** One row of `alert_deliveries`. */
export interface DeliveryAttempt {
  message_id: string;
  channel_id: string;
  incident_id: string | null;
  event: string;
  attempt: number;
  at: number;
  /** delivered | failed | gave_up | skipped */
  status: string;
  response_code: number | null;
  error: string | null;
  duration_ms: number | null;
}

/** Records an attempt in D1 for `GET /v1/alert-deliveries`; a D1 failure is logged, never thrown. */
export async function recordDelivery(db: D1Database, a: DeliveryAttempt): Promise<void> {
  try {
    await drizzle(db).insert(alertDeliveries).values({
      messageId: a.message_id,
      channelId: a.channel_id,
      incidentId: a.incident_id,
      event: a.event,
      attempt: a.attempt,
      at: a.at,
      status: a.status,
      responseCode: a.response_code,
      error: a.error,
      durationMs: a.duration_ms,
    });
  } catch (err) {
    log("warn", "alert_delivery_not_recorded", { message_id: a.message_id, message: errorMessage(err) });
  }
}
