/**
 * Hand-off of accepted records from the ingest Worker to the endpoint Durable Objects: routes
 * are capped per service, records grouped by endpoint, one RPC per endpoint per call (the
 * coalescer makes one call for several requests' records).
 * Every call is bounded in time (registry, each RPC, the D1 fallback), so the whole hand-off ends
 * inside the waitUntil budget. An RPC is retried with backoff only when its error is marked
 * retryable (see retry-policy.ts; an overloaded object is never retried); records whose Durable
 * Object cannot take them are written to D1 directly as a last resort, and whatever still fails
 * is logged as a structured error with the record keys and counted, never dropped silently.
 */
import { toLogRow, writeLogBatch } from "../db/log-writer";
import { log } from "../lib/log";
import { isCapacityError } from "../db/capacity";
import { TimeoutError, withTimeout } from "../lib/timeout";
import type { IngestResult } from "../monitor/endpoint-monitor";
import type { ServiceRegistry } from "../monitor/service-registry";
import { DEFAULT_MAX_ROUTES } from "../monitor/service-registry";
import { admissionSettings, showsRouteExists, touchIntervalMs, type RouteAsk } from "../monitor/route-admission";
import { noteRouteCaps } from "./caps";
import { endpointName, type LogRecord } from "./record";
import { endpointObject } from "../monitor/endpoint-object";
import { OVERFLOW_ROUTE } from "./route-template";
import { ingestCounters } from "./counters";
import { HANDOFF_ATTEMPTS, OVERLOADED_BACKOFF_MS, retryDecision } from "./retry-policy";
import { reportStorage } from "./storage-state";
import { writeThrough } from "../monitor/archive-through";
import { errorMessage } from "../lib/errors";
import { backoffMs, type Backoff } from "../lib/backoff";

export { HANDOFF_ATTEMPTS };
const HANDOFF_RETRY: Backoff = { firstMs: 100, factor: 4, maxMs: Infinity, jitter: 0.5 };
/**
 * One RPC may take this long before it counts as failed. Worst case: the registry (2 s), two
 * timed-out tries (10 s), backoff (under 4 s) and the D1 fallback (5 s) stay inside waitUntil's 30 s.
 */
export const ATTEMPT_TIMEOUT_MS = 5000;
/** The route registry's answer; without it records keep their own route (the cap is best effort). */
export const REGISTRY_TIMEOUT_MS = 2000;
/** The direct D1 write of the fallback. */
export const FALLBACK_TIMEOUT_MS = 5000;

/**
 * What the registry answered in this isolate: per service, route -> the route it is counted
 * under and until when the answer may be used. An admitted route is used for up to a day (then
 * asked about again, which keeps it from expiring); a vouched route refused by the cap for a
 * minute; an unvouched refusal for a minute too, but `weak`: only for records that show nothing
 * either (a repeated 404), since the next record of that route may show it exists.
 * Only the registry decides: a route this isolate has not asked about is asked about, even when
 * the service is full, since another isolate may have admitted it before the cap was reached.
 */
const routeAnswers = new Map<string, Map<string, { countedAs: string; until: number; weak: boolean }>>();
/** Entries across all services: the whole cache is dropped past it, so it stays a few MB at most. */
export const MAX_CACHED_ENTRIES = 20_000;
let cachedEntries = 0;
const REFUSAL_CACHE_MS = 60_000;

/** Route answers this isolate holds now, across all services (bounded by MAX_CACHED_ENTRIES). */
export function routeCacheEntries(): number {
  let n = 0;
  for (const cache of routeAnswers.values()) n += cache.size;
  return n;
}

function registry(env: Env, service: string): DurableObjectStub<ServiceRegistry> {
  return env.SERVICE_REGISTRY.get(env.SERVICE_REGISTRY.idFromName(service));
}

function remember(
  service: string,
  answers: Record<string, string>,
  asks: Map<string, RouteAsk>,
  now: number,
  touchMs: number,
): void {
  const fresh = Object.keys(answers).length;
  if (cachedEntries + fresh > MAX_CACHED_ENTRIES) {
    routeAnswers.clear();
    cachedEntries = 0;
  }
  let cache = routeAnswers.get(service);
  if (!cache) {
    cache = new Map();
    routeAnswers.set(service, cache);
  }
  for (const [route, countedAs] of Object.entries(answers)) {
    if (!cache.has(route)) cachedEntries++;
    const ask = asks.get(route);
    if (countedAs === route) cache.set(route, { countedAs, until: now + touchMs, weak: false });
    // Weak only when the refused records showed nothing (a 404): a later record that shows the
    // route exists asks again. A route refused although it showed itself (the cap, the rate) waits the minute.
    else cache.set(route, { countedAs, until: now + REFUSAL_CACHE_MS, weak: !(ask?.vouched || ask?.exists) });
  }
}

/**
 * Rewrites each record's route to the one it is counted under: `/:other` when its service is
 * past its cap of distinct routes, or, for a proxied record no key vouches for, when its route
 * was not admitted (see monitor/route-admission.ts).
 */
export async function capRoutes(env: Env, records: LogRecord[], now = Date.now()): Promise<void> {
  const asksByService = new Map<string, Map<string, RouteAsk>>();
  for (const r of records) {
    if (r.route === OVERFLOW_ROUTE) continue;
    const vouched = r.source !== "proxy";
    const exists = vouched || showsRouteExists(r.status, r.ttfb_ms !== null);
    const known = routeAnswers.get(r.service)?.get(r.route);
    if (known !== undefined && known.until > now && (!known.weak || !exists)) {
      r.route = known.countedAs;
      continue;
    }
    let asks = asksByService.get(r.service);
    if (!asks) asksByService.set(r.service, (asks = new Map<string, RouteAsk>()));
    const ask = asks.get(r.route);
    if (ask) {
      ask.vouched ||= vouched;
      ask.exists ||= exists;
    } else asks.set(r.route, { route: r.route, vouched, exists });
  }
  if (asksByService.size === 0) return;
  const settings = { ...admissionSettings(env, DEFAULT_MAX_ROUTES), now };
  const answers = new Map<string, Record<string, string>>();
  await Promise.all(
    [...asksByService].map(async ([service, asks]) => {
      try {
        const admission = await withTimeout(
          registry(env, service).decide([...asks.values()], settings),
          REGISTRY_TIMEOUT_MS,
        );
        answers.set(service, admission.routes);
        remember(service, admission.routes, asks, now, touchIntervalMs(settings.ttlMs));
        await noteRouteCaps(env, service, admission, now);
      } catch (err) {
        // A vouched record is counted under its own route rather than lost (the cap is best
        // effort here); an unvouched one under `/:other`, since nothing admitted its route.
        ingestCounters.route_cap_unavailable++;
        const fallback: Record<string, string> = {};
        for (const ask of asks.values()) fallback[ask.route] = ask.vouched ? ask.route : OVERFLOW_ROUTE;
        answers.set(service, fallback);
        log("warn", "route_cap_unavailable", { service, message: errorMessage(err) });
      }
    }),
  );
  for (const r of records) {
    const countedAs = answers.get(r.service)?.[r.route];
    if (countedAs !== undefined) r.route = countedAs;
  }
}

/** Groups records by endpoint (service, method, route). */
export function groupByEndpoint(records: readonly LogRecord[]): Map<string, LogRecord[]> {
  const groups = new Map<string, LogRecord[]>();
  for (const r of records) {
    const name = endpointName(r);
    const group = groups.get(name);
    if (group) group.push(r);
    else groups.set(name, [r]);
  }
  return groups;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Endpoints this isolate saw overloaded, until when their records go to D1 directly. */
const overloadedUntil = new Map<string, number>();
const MAX_OVERLOADED = 1000;

/** Thrown instead of an RPC while the endpoint's overload backoff lasts. */
class OverloadedError extends Error {
  readonly overloaded = true;
}

async function sendToEndpoint(env: Env, name: string, records: LogRecord[]): Promise<IngestResult> {
  const until = overloadedUntil.get(name);
  if (until !== undefined) {
    if (until > Date.now()) throw new OverloadedError(`backing off an overloaded object for ${until - Date.now()} ms`);
    overloadedUntil.delete(name);
  }
  let timeouts = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      // A fresh stub per attempt: a stub that saw an exception may be broken.
      return await withTimeout(endpointObject(env, name).ingest(records), ATTEMPT_TIMEOUT_MS);
    } catch (err) {
      if (err instanceof TimeoutError) timeouts++;
      const decision = retryDecision(err, attempt, timeouts);
      if (decision === "overloaded") {
        if (overloadedUntil.size >= MAX_OVERLOADED) overloadedUntil.clear();
        overloadedUntil.set(name, Date.now() + OVERLOADED_BACKOFF_MS);
        ingestCounters.handoff_overloaded++;
      }
      if (decision !== "retry") throw err;
      ingestCounters.handoff_retries++;
      await sleep(backoffMs(HANDOFF_RETRY, attempt));
    }
  }
}

/** Writes fallback records to the archive as the write-through would; a failure is logged and counted, the records stay in D1. */
async function archiveFallback(bucket: R2Bucket, name: string, group: readonly LogRecord[]): Promise<void> {
  const stored = group.filter((r) => !r.sampled_out);
  try {
    // Keyed by the records' keys: a retried hand-off that falls back again overwrites its object.
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(stored.map((r) => r.key).join("\n")));
    const id = `fb-${[...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
    await withTimeout(writeThrough(bucket, stored.map(toLogRow), 0, id), FALLBACK_TIMEOUT_MS);
  } catch (err) {
    ingestCounters.fallback_archive_failed += stored.length;
    log("error", "handoff_fallback_archive_failed", {
      endpoint: name,
      records: stored.length,
      record_keys: stored.map((r) => r.key),
      message: errorMessage(err),
    });
  }
}

export interface HandOffResult {
  stored: number;
  duplicates: number;
  /** Records written to D1 directly because their Durable Object could not be reached. */
  fallback: number;
  /** Records that could be stored nowhere (logged and counted). */
  failed: number;
  /** Keys of the failed records. */
  failedKeys: string[];
}

/** Hands records to their endpoint Durable Objects; resolves once every record is committed or accounted for. */
export async function handOff(env: Env, records: LogRecord[]): Promise<HandOffResult> {
  const result: HandOffResult = { stored: 0, duplicates: 0, fallback: 0, failed: 0, failedKeys: [] };
  if (records.length === 0) return result;
  await capRoutes(env, records);
  await Promise.all(
    [...groupByEndpoint(records)].map(async ([name, group]) => {
      try {
        const r = await sendToEndpoint(env, name, group);
        result.stored += r.stored;
        result.duplicates += r.duplicates;
        if (r.storage !== undefined) reportStorage(r.storage === "full");
      } catch (err) {
        const message = errorMessage(err);
        try {
          // Sampled-out records are only counted by their endpoint: none is stored raw here either.
          const rows = group.filter((r) => !r.sampled_out).map((r) => JSON.stringify(toLogRow(r)));
          await withTimeout(writeLogBatch(env.DB, rows, Date.now()), FALLBACK_TIMEOUT_MS);
          if (rows.length > 0) reportStorage(false);
          // These rows bypass the endpoint object's write-through: archive them here (retention does not).
          if (env.ARCHIVE && rows.length > 0) await archiveFallback(env.ARCHIVE, name, group);
          result.fallback += group.length;
          ingestCounters.fallback_to_d1 += group.length;
          log("warn", "handoff_fallback_to_d1", { endpoint: name, records: group.length, message });
        } catch (fallbackErr) {
          if (isCapacityError(fallbackErr)) reportStorage(true);
          result.failed += group.length;
          result.failedKeys.push(...group.map((r) => r.key));
          ingestCounters.dropped += group.length;
          log("error", "handoff_failed", {
            endpoint: name,
            records: group.length,
            record_keys: group.map((r) => r.key),
            message,
            fallback_message: errorMessage(fallbackErr),
          });
        }
      }
    }),
  );
  return result;
}
