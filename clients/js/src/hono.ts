/**
 * `edge-monitor/hono`: a Hono middleware that reports every request of an app to the monitor.
 * After `await next()` it builds a redacted record from headers alone and queues it; batches go
 * to `POST /v1/logs` inside the answering request's own `waitUntil`, through a service binding or
 * over HTTPS. The app's response is never changed, awaited on or delayed beyond the enqueueing:
 * every failure of the monitor is swallowed, counted in `stats()` and logged without secrets.
 *
 * Only types come from `hono`: the route is read from the request object (`c.req.routePath`)
 * rather than through `hono/route`, whose helper keys on a module-private symbol and so breaks
 * when the app bundles a different copy of hono than this package resolves.
 */
import type { Context, MiddlewareHandler } from "hono";
import { clamp, logWarning, MAX_BODY_BYTES, readVerdict } from "./answer.js";
import { BatchQueue } from "./batch-queue.js";
import { buildRecord, SERVICE_NAME, type MonitorRecord } from "./request-record.js";

export type { MonitorRecord } from "./request-record.js";

/** What the middleware needs of a service binding (a `Fetcher`). */
export interface MonitorFetcher {
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
}

/** A value, or a function of the app's bindings for values that live in `env` (secrets, bindings). */
export type FromEnv<B, T> = T | ((env: B) => T | undefined);

export interface MonitorOptions<B extends object = object> {
  /** The service name the records are filed under (1-64 of `A-Z a-z 0-9 . _ -`). */
  service: string;
  /** The monitor's ingest URL (`https://monitor.example/v1/logs`); with `binding`, only its path and query count. */
  endpoint?: string;
  /** A service binding to the monitor Worker (same account): no public hop. */
  binding?: FromEnv<B, MonitorFetcher>;
  /** An ingest key of the monitor (`INGEST_KEYS`), sent as `Authorization: Bearer`. */
  ingestKey?: FromEnv<B, string>;
  /** Records per POST (1-500, default 50). */
  batchSize?: number;
  /** How long a record may wait for a fuller batch, in ms (0-10,000, default 1,000; 0 sends each request's record at once). */
  flushMs?: number;
  /** A send that has not answered after this long is abandoned, in ms (default 10,000). */
  timeoutMs?: number;
  /** Extra redaction after the built-in one: return a changed record, or null to not send it. */
  redact?: (record: MonitorRecord) => MonitorRecord | null;
  /** Redact email addresses before sending (default true; the monitor's `REDACT_EMAILS` applies again on arrival). */
  redactEmails?: boolean;
}

/** The middleware's counters, for this isolate since it started. */
export interface MonitorStats {
  recorded: number;
  sent: number;
  /** Records whose batch failed (network error, timeout, non-2xx answer). */
  failed: number;
  /** Records the monitor answered as rejected (invalid). */
  rejected: number;
  /** Records not queued because the queue was full. */
  dropped: number;
}

export type MonitorMiddleware<B extends object = object> = MiddlewareHandler<{ Bindings: B }> & {
  stats(): MonitorStats;
};

const DEFAULT_BINDING_URL = "https://edge-monitor/v1/logs";
const MAX_BATCH = 500;
const MAX_FLUSH_MS = 10_000; // well inside the 30 s a Worker's waitUntil may run after its response.

/** The binding itself, or the one a function of `env` returns. Checked by its `fetch` method, since a Workers RPC stub may itself be callable. */
function resolveBinding<B>(value: FromEnv<B, MonitorFetcher> | undefined, env: B): MonitorFetcher | undefined {
  if (value === undefined || typeof (value as Partial<MonitorFetcher>).fetch === "function")
    return value as MonitorFetcher | undefined;
  return (value as (env: B) => MonitorFetcher | undefined)(env);
}

function resolveKey<B>(value: FromEnv<B, string> | undefined, env: B): string | undefined {
  return typeof value === "function" ? value(env) : value;
}

/** Runs `work` after the response in this request's own context (or unattended without one, as under `app.request`). */
function inBackground(c: Context, work: Promise<void>): void {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    // No ExecutionContext: nothing can extend the request, and `work` never rejects.
  }
}

/** Settles with `p`, or rejects after `ms` even if `p` never does. */
async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** Reports each request of a Hono app to the edge monitor (see docs/clients.md, "Hono middleware and Prometheus alert rules"). */
export function monitor<B extends object = object>(options: MonitorOptions<B>): MonitorMiddleware<B> {
  if (!SERVICE_NAME.test(options.service))
    throw new TypeError("monitor(): service must be 1-64 characters of A-Z a-z 0-9 . _ -");
  if (options.endpoint === undefined && options.binding === undefined)
    throw new TypeError("monitor(): give an endpoint URL or a binding");
  const url = new URL(options.endpoint ?? DEFAULT_BINDING_URL).toString();
  const batchSize = clamp(options.batchSize, 1, MAX_BATCH, 50);
  const flushMs = clamp(options.flushMs, 0, MAX_FLUSH_MS, 1_000);
  const timeoutMs = clamp(options.timeoutMs, 1, 30_000, 10_000);
  const queue = new BatchQueue<MonitorRecord>({ batchSize, flushMs, maxQueued: batchSize * 20 });
  const stats: MonitorStats = { recorded: 0, sent: 0, failed: 0, rejected: 0, dropped: 0 };

  /** POSTs one batch; never rejects. */
  async function send(batch: MonitorRecord[], env: B): Promise<void> {
    try {
      const body = JSON.stringify(batch);
      if (batch.length > 1 && new TextEncoder().encode(body).byteLength > MAX_BODY_BYTES) {
        const half = Math.ceil(batch.length / 2);
        await send(batch.slice(0, half), env);
        await send(batch.slice(half), env);
        return;
      }
      const binding = resolveBinding(options.binding, env);
      if (!binding && options.endpoint === undefined) throw new Error("the monitor's binding is missing from env");
      const key = resolveKey(options.ingestKey, env);
      const headers: Record<string, string> = key
        ? { "Content-Type": "application/json", Authorization: `Bearer ${key}` }
        : { "Content-Type": "application/json" };
      const init: RequestInit = { method: "POST", headers, body, signal: AbortSignal.timeout(timeoutMs) };
      const res = await withDeadline(binding ? binding.fetch(url, init) : fetch(url, init), timeoutMs);
      const text = await withDeadline(res.text(), timeoutMs);
      // A 2xx, or a 400 `invalid_records` (every record refused): the batch arrived, and is not sent again.
      const verdict = readVerdict(res.status, text);
      if (!res.ok && verdict === null) throw new Error(`the monitor answered ${res.status}: ${text.slice(0, 200)}`);
      const rejected = verdict?.rejected ?? 0;
      stats.sent += batch.length - rejected;
      stats.rejected += rejected;
      if (rejected > 0)
        logWarning("edge_monitor_records_rejected", options.service, {
          records: rejected,
          errors: verdict?.reasons ?? [],
        });
    } catch (err) {
      stats.failed += batch.length;
      logWarning("edge_monitor_send_failed", options.service, { records: batch.length }, err);
    }
  }

  async function sendAll(batches: MonitorRecord[][], env: B): Promise<void> {
    for (const batch of batches) await send(batch, env);
  }

  async function lingerThenSend(token: number, env: B): Promise<void> {
    await new Promise((r) => setTimeout(r, flushMs));
    await sendAll(queue.expire(token), env);
  }

  /** Builds, redacts and queues the record; starts this request's share of the sending. */
  function enqueue(c: Context<{ Bindings: B }>, startedAt: number, error: unknown): void {
    try {
      let route = "";
      try {
        route = c.req.routePath;
      } catch {
        // No matched route (a custom router): the monitor derives one from the path.
      }
      const status = error === undefined ? c.res.status : 500;
      const built = buildRecord({
        id: crypto.randomUUID(),
        service: options.service,
        method: c.req.method,
        url: c.req.url,
        route,
        status,
        startedAt,
        endedAt: Date.now(),
        requestHeaders: c.req.raw.headers,
        responseHeaders: c.res.headers,
        responseHasBody: c.res.body !== null,
        error: error ?? c.error,
        redactEmails: options.redactEmails ?? true,
      });
      const record = built && options.redact ? options.redact(built) : built;
      if (!record) return;
      stats.recorded++;
      const step = queue.push(record, Date.now());
      if (step.dropped) stats.dropped++;
      if (step.batches.length > 0) inBackground(c, sendAll(step.batches, c.env));
      if (step.linger) inBackground(c, lingerThenSend(step.token, c.env));
    } catch (err) {
      // Whatever went wrong here must not reach the app's response.
      stats.dropped++;
      logWarning("edge_monitor_record_failed", options.service, {}, err);
    }
  }

  const middleware: MiddlewareHandler<{ Bindings: B }> = async (c, next) => {
    const startedAt = Date.now();
    try {
      await next();
    } catch (err) {
      // Only reached when no error handler turned the error into a response: record a 500 and rethrow.
      enqueue(c, startedAt, err);
      throw err;
    }
    enqueue(c, startedAt, undefined);
  };
  return Object.assign(middleware, { stats: (): MonitorStats => ({ ...stats }) });
}
