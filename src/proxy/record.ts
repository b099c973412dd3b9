/**
 * Turns one proxied exchange into a log record through the same normalisation as ingested
 * logs, applying the service's recording switches. Pure but for the random sampling draw.
 */
import { normaliseRecord, type LogRecord } from "../ingest/record";
import type { ServiceConfig } from "../services/config";
import { VERSION } from "../deploys/deploys";

export interface Exchange {
  service: ServiceConfig;
  method: string;
  /** Path and query as the client sent them, relative to the service. */
  path: string;
  startedAt: number;
  endedAt: number;
  ttfbMs: number | null;
  status: number;
  requestBytes: number | null;
  responseBytes: number;
  responseEmpty: boolean;
  inconsistent: boolean;
  requestId: string;
  clientIp: string | null;
  userAgent: string | null;
  region: string | null;
  /** The consumer, from the request header named by PROXY_CONSUMER_HEADER. */
  consumer?: string | null;
  /** The origin's version, from the response header named by PROXY_VERSION_HEADER. */
  version?: string | null;
  error: string | null;
  clientDisconnected: boolean;
  /** Redact email addresses (env `REDACT_EMAILS`; default true). */
  redactEmails?: boolean;
}

/**
 * The origin's version from the response header `headerName` (env `PROXY_VERSION_HEADER`; empty:
 * not read). A value that is no version (too long, odd characters) is ignored, never the record.
 */
export function originVersion(headers: Headers, headerName: string | undefined): string | null {
  const value = configuredHeader(headers, headerName);
  return value !== null && VERSION.test(value) ? value : null;
}

/** The trimmed value of the header a setting names (null: no setting, not a valid header name, or absent). */
function configuredHeader(headers: Headers, headerName: string | undefined): string | null {
  const name = headerName?.trim();
  if (!name) return null;
  try {
    return headers.get(name)?.trim() ?? null;
  } catch {
    return null; // not a valid header name
  }
}

/**
 * The consumer a proxied request names in the header `headerName` (env `PROXY_CONSUMER_HEADER`;
 * empty: not read), trimmed and cut to 128 characters; normalisation scrubs it like any consumer
 * (a value that looks like a token is redacted).
 */
export function requestConsumer(headers: Headers, headerName: string | undefined): string | null {
  const value = configuredHeader(headers, headerName);
  return value ? value.slice(0, 128) : null;
}

const RETENTION_FOR_LIVE_RECORDS = 24 * 60 * 60 * 1000;

/** The record of an exchange, or null when the service does not record. */
export function exchangeRecord(x: Exchange, random: () => number = Math.random): LogRecord | null {
  const { enabled, sample_rate: rate } = x.service.recording;
  if (!enabled) return null;
  const result = normaliseRecord(
    {
      timestamp: x.startedAt,
      service: x.service.name,
      method: x.method,
      path: x.path.slice(0, 2048),
      status: x.status,
      latency_ms: Math.max(0, x.endedAt - x.startedAt),
      ttfb_ms: x.ttfbMs,
      request_bytes: x.requestBytes,
      response_bytes: x.responseBytes,
      response_empty: x.responseEmpty,
      inconsistent: x.inconsistent,
      error: x.error,
      request_id: x.requestId.slice(0, 128),
      client_ip: x.clientIp?.slice(0, 64) ?? null,
      user_agent: x.userAgent,
      region: x.region,
      consumer: x.consumer ?? null,
      version: x.version ?? null,
      attributes: x.clientDisconnected ? { client_disconnected: true } : null,
    },
    {
      now: x.endedAt,
      retentionMs: RETENTION_FOR_LIVE_RECORDS,
      newKey: () => crypto.randomUUID(),
      redactEmails: x.redactEmails ?? true,
    },
  );
  if (!result.ok) return null;
  const record: LogRecord = { ...result.record, source: "proxy" };
  if (rate > 1 && random() * rate >= 1) record.sampled_out = true;
  return record;
}
