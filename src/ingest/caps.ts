/**
 * The worker's side of the cardinality caps: MAX_SERVICES for services created by ingest
 * (asked of the catalog once per new service per isolate, so a known service costs nothing),
 * the caps reached, reported to the catalog at most once a minute per service and kind from an
 * isolate, and the report /health shows (cached per isolate for a few seconds).
 */
import { log } from "../lib/log";
import { withTimeout } from "../lib/timeout";
import type { CapKind, CapReport } from "../monitor/service-catalog";
import { config } from "../config";
import { CATALOG_NAME, type Admission, type ServiceRegistry } from "../monitor/service-registry";
import { serviceDirectory } from "../services/store";
import type { LogRecord } from "./record";
import { errorMessage } from "../lib/errors";

const CATALOG_TIMEOUT_MS = 3000;
/** A refused service is not asked about again for this long (another may have been freed by then). */
const REFUSAL_CACHE_MS = 60_000;
const NOTE_INTERVAL_MS = 60_000;
const REPORT_CACHE_MS = 5_000;
const MAX_CACHED = 5000;

const admittedServices = new Set<string>();
const refusedServices = new Map<string, number>();
const noted = new Map<string, number>();
let report: { at: number; value: CapReport } | null = null;

function catalog(env: Env): DurableObjectStub<ServiceRegistry> {
  return env.SERVICE_REGISTRY.get(env.SERVICE_REGISTRY.idFromName(CATALOG_NAME));
}

/** MAX_SERVICES from the env (configured services count towards it), default 1000. */
export function maxServices(env: { MAX_SERVICES?: string }): number {
  return config(env).MAX_SERVICES;
}

/**
 * The names among `names` that MAX_SERVICES refuses. Configured services always pass. When the
 * catalog cannot be reached the services pass (losing records is worse than a loose cap).
 */
export async function refusedServiceNames(
  env: Env,
  names: Iterable<string>,
  configured: readonly string[],
  now = Date.now(),
): Promise<Set<string>> {
  const isConfigured = new Set(configured);
  const refused = new Set<string>();
  const unknown: string[] = [];
  for (const name of new Set(names)) {
    if (isConfigured.has(name) || admittedServices.has(name)) continue;
    const until = refusedServices.get(name);
    if (until !== undefined && until > now) refused.add(name);
    else unknown.push(name);
  }
  if (unknown.length === 0) return refused;
  try {
    const answer = await withTimeout(
      catalog(env).admitServices(unknown, [...configured], maxServices(env)),
      CATALOG_TIMEOUT_MS,
    );
    const no = new Set(answer.refused);
    if (admittedServices.size + unknown.length > MAX_CACHED) admittedServices.clear();
    if (refusedServices.size + no.size > MAX_CACHED) refusedServices.clear();
    for (const name of unknown) {
      if (no.has(name)) {
        refused.add(name);
        refusedServices.set(name, now + REFUSAL_CACHE_MS);
      } else {
        admittedServices.add(name);
        refusedServices.delete(name);
      }
    }
    if (no.size > 0)
      log("warn", "service_cap_reached", { refused: [...no].slice(0, 20), max_services: maxServices(env) });
  } catch (err) {
    log("warn", "service_cap_unavailable", { services: unknown.length, message: errorMessage(err) });
  }
  return refused;
}

/** The error of a record refused by MAX_SERVICES. */
export function serviceCapError(env: Env): string {
  return `service: the monitor already holds MAX_SERVICES (${maxServices(env)}) services; this one is new`;
}

/** Splits records into the ones MAX_SERVICES lets through and the ones it refuses (OTLP, tail). */
export async function splitByServiceCap(
  env: Env,
  records: LogRecord[],
  waitUntil?: (p: Promise<unknown>) => void,
): Promise<{ kept: LogRecord[]; refused: LogRecord[] }> {
  if (records.length === 0) return { kept: records, refused: [] };
  const configured = [...(await serviceDirectory(env, waitUntil)).byName.keys()];
  const no = await refusedServiceNames(
    env,
    records.map((r) => r.service),
    configured,
  );
  if (no.size === 0) return { kept: records, refused: [] };
  return { kept: records.filter((r) => !no.has(r.service)), refused: records.filter((r) => no.has(r.service)) };
}

async function note(env: Env, kind: CapKind, service: string, now: number): Promise<void> {
  const key = `${kind} ${service}`;
  if ((noted.get(key) ?? 0) > now - NOTE_INTERVAL_MS) return;
  if (noted.size > MAX_CACHED) noted.clear();
  noted.set(key, now);
  log("warn", kind === "rate" ? "route_rate_limited" : "route_cap_reached", { service });
  try {
    await withTimeout(catalog(env).noteCap(kind, service), CATALOG_TIMEOUT_MS);
  } catch (err) {
    log("warn", "cap_note_failed", { kind, service, message: errorMessage(err) });
  }
}

/** Tells the catalog (throttled) that a service's route cap or rate of new routes refused a route. */
export async function noteRouteCaps(env: Env, service: string, admission: Admission, now = Date.now()): Promise<void> {
  if (admission.cap_reached) await note(env, "routes", service, now);
  if (admission.rate_limited) await note(env, "rate", service, now);
}

/** The caps reached in the last day (for /health), or null when the catalog cannot be reached. */
export async function capsReport(env: Env, configured: readonly string[], now = Date.now()): Promise<CapReport | null> {
  if (report && now - report.at < REPORT_CACHE_MS) return report.value;
  try {
    const value = await withTimeout(catalog(env).caps([...configured], maxServices(env)), CATALOG_TIMEOUT_MS);
    report = { at: now, value };
    return value;
  } catch (err) {
    log("warn", "caps_report_failed", { message: errorMessage(err) });
    return null;
  }
}

/** Forgets this isolate's caches (tests). */
export function resetCapCaches(): void {
  admittedServices.clear();
  refusedServices.clear();
  noted.clear();
  report = null;
}
