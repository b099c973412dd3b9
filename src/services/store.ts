/**
 * Service configurations: the `SERVICES` var merged with the ones stored in D1 through the
 * admin API (D1 wins on a name clash), cached per isolate for a short TTL so that proxying and
 * host routing need no D1 read per request.
 *
 * Rules of the cache: up to CACHE_TTL_MS old it is used as is; up to MAX_STALE_MS it is used
 * while the request that noticed carries a refresh in its waitUntil; older than that a request
 * loads before answering. A load that fails to reach D1 never replaces a good directory. A
 * change through the admin API bumps the generation, so a load that started before it cannot
 * write back what it read. No request ever waits on a load another request started (a promise
 * resolved from another request's context can hang the waiting one).
 */
import { and, eq, isNotNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { services } from "../db/schema";
import { log } from "../lib/log";
import { parseServicesVar, serviceSettings, type ServiceConfig, type ServiceSettings } from "./config";
import { errorMessage } from "../lib/errors";

export const CACHE_TTL_MS = 10_000;
/** Past this age the directory is not served without loading it again. */
export const MAX_STALE_MS = 2 * CACHE_TTL_MS;
/** A var-only directory (D1 unreachable on a cold start) is kept this long before trying again. */
const DEGRADED_TTL_MS = 1_000;
/** A refresh that has not finished after this long may be started again by another request. */
const REFRESH_RETRY_MS = 5_000;

export interface ServiceDirectory {
  byName: Map<string, ServiceConfig>;
  byHost: Map<string, ServiceConfig>;
  loadedAt: number;
  /** False when D1 could not be read and only the `SERVICES` var is in it. */
  complete: boolean;
}

let cache: ServiceDirectory | null = null;
let generation = 0;
let refreshStartedAt = 0;

async function loadFromD1(db: D1Database): Promise<ServiceConfig[]> {
  const rows = await drizzle(db)
    .select({ name: services.name, config: services.config })
    .from(services)
    .where(isNotNull(services.config))
    .all();
  const out: ServiceConfig[] = [];
  for (const row of rows) {
    const parsed = serviceSettings.safeParse(JSON.parse(row.config ?? "null"));
    if (parsed.success) out.push({ name: row.name, source: "api", ...parsed.data });
    else log("warn", "service_config_invalid", { service: row.name });
  }
  return out;
}

/** Builds the directory from the var and D1 (D1 unreachable: the var alone, marked incomplete). */
export async function loadDirectory(env: Env, now = Date.now()): Promise<ServiceDirectory> {
  const fromVar = parseServicesVar(env.SERVICES);
  if (fromVar.errors.length > 0) log("warn", "services_var_invalid", { errors: fromVar.errors });
  let fromD1: ServiceConfig[] = [];
  let complete = true;
  try {
    fromD1 = await loadFromD1(env.DB);
  } catch (err) {
    complete = false;
    log("warn", "services_load_failed", { message: errorMessage(err) });
  }
  const byName = new Map<string, ServiceConfig>();
  for (const s of [...fromVar.services, ...fromD1]) byName.set(s.name, s);
  const byHost = new Map<string, ServiceConfig>();
  for (const s of byName.values()) {
    for (const h of s.hostnames) {
      const owner = byHost.get(h);
      if (owner) log("warn", "service_hostname_clash", { hostname: h, services: [owner.name, s.name] });
      byHost.set(h, s);
    }
  }
  return { byName, byHost, loadedAt: now, complete };
}

/** Loads, and keeps the result unless it is worse than what is cached or a change came in meanwhile. */
async function reload(env: Env, now: number): Promise<ServiceDirectory> {
  const startedIn = generation;
  const loaded = await loadDirectory(env, now);
  if (!loaded.complete) {
    if (cache?.complete) return cache; // D1 hiccup: keep serving the good directory
    loaded.loadedAt = now - CACHE_TTL_MS + DEGRADED_TTL_MS; // try again soon
  }
  if (generation === startedIn) cache = loaded;
  return loaded;
}

/** The service directory for this request (see the rules above). */
export async function serviceDirectory(env: Env, waitUntil?: (p: Promise<unknown>) => void): Promise<ServiceDirectory> {
  const now = Date.now();
  if (cache && now - cache.loadedAt < CACHE_TTL_MS) return cache;
  if (!cache || now - cache.loadedAt >= MAX_STALE_MS || !waitUntil) return reload(env, now);
  if (now - refreshStartedAt > REFRESH_RETRY_MS) {
    refreshStartedAt = now;
    waitUntil(reload(env, now));
  }
  return cache;
}

/** Drops the cached directory (after a change through the admin API in this isolate). */
export function invalidateServiceCache(): void {
  cache = null;
  generation++;
  refreshStartedAt = 0;
}

/** Stores a service's settings in D1 (creating the service row when it is new). */
export async function saveService(
  db: D1Database,
  name: string,
  settings: ServiceSettings,
  now = Date.now(),
): Promise<void> {
  const config = JSON.stringify(settings);
  await drizzle(db)
    .insert(services)
    .values({ name, firstSeenAt: now, config, updatedAt: now })
    .onConflictDoUpdate({ target: services.name, set: { config, updatedAt: now } });
  invalidateServiceCache();
}

/** Removes a service's settings from D1; its logs and its row as a seen service stay. True when it had settings. */
export async function deleteService(db: D1Database, name: string, now = Date.now()): Promise<boolean> {
  const result = await drizzle(db)
    .update(services)
    .set({ config: null, updatedAt: now })
    .where(and(eq(services.name, name), isNotNull(services.config)))
    .run();
  invalidateServiceCache();
  return result.meta.changes > 0;
}
