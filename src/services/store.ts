/**
 * Service configurations: the `SERVICES` var merged with the ones stored in D1 through the
 * admin API (D1 wins on a name clash), cached per isolate for a short TTL so that proxying and
 * host routing need no D1 read per request. A stale cache is served while it refreshes.
 */
import { and, eq, isNotNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { services } from "../db/schema";
import { log } from "../http/log";
import { parseServicesVar, serviceSettings, type ServiceConfig, type ServiceSettings } from "./config";

export const CACHE_TTL_MS = 10_000;

export interface ServiceDirectory {
  byName: Map<string, ServiceConfig>;
  byHost: Map<string, ServiceConfig>;
  loadedAt: number;
}

let cache: ServiceDirectory | null = null;
let refreshStartedAt = 0;
/** A refresh that has not finished after this long may be started again by another request. */
const REFRESH_RETRY_MS = 5_000;

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

/** Builds the directory from the var and D1 (D1 unreachable: the var alone, logged). */
export async function loadDirectory(env: Env, now = Date.now()): Promise<ServiceDirectory> {
  const fromVar = parseServicesVar(env.SERVICES);
  if (fromVar.errors.length > 0) log("warn", "services_var_invalid", { errors: fromVar.errors });
  let fromD1: ServiceConfig[] = [];
  try {
    fromD1 = await loadFromD1(env.DB);
  } catch (err) {
    log("warn", "services_load_failed", { message: err instanceof Error ? err.message : String(err) });
  }
  const byName = new Map<string, ServiceConfig>();
  for (const s of [...fromVar.services, ...fromD1]) byName.set(s.name, s);
  const byHost = new Map<string, ServiceConfig>();
  for (const s of byName.values()) for (const h of s.hostnames) byHost.set(h, s);
  return { byName, byHost, loadedAt: now };
}

/**
 * The cached directory: loaded on first use, refreshed in the background once older than the
 * TTL. No request ever waits on a load another request started (a promise resolved from another
 * request's context can hang): a cold isolate's concurrent first requests each load, and a stale
 * cache is served while the one request that started the refresh carries it in its waitUntil.
 */
export async function serviceDirectory(env: Env, waitUntil?: (p: Promise<unknown>) => void): Promise<ServiceDirectory> {
  const now = Date.now();
  if (cache && now - cache.loadedAt < CACHE_TTL_MS) return cache;
  if (!cache) {
    const loaded = await loadDirectory(env, now);
    cache = loaded;
    return loaded;
  }
  if (waitUntil && now - refreshStartedAt > REFRESH_RETRY_MS) {
    refreshStartedAt = now;
    waitUntil(
      loadDirectory(env, now).then((d) => {
        cache = d;
      }),
    );
  }
  return cache;
}

/** Drops the cached directory (after a change through the admin API in this isolate). */
export function invalidateServiceCache(): void {
  cache = null;
  refreshStartedAt = 0;
}

/** Stores a service's settings in D1 (creating the service row when it is new). */
export async function saveService(db: D1Database, name: string, settings: ServiceSettings, now = Date.now()): Promise<void> {
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
