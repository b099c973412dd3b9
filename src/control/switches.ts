/**
 * Operator switches, persisted in D1 (`control_switches`): `ingestion` (POST /v1/logs answers 503
 * while off, so clients keep and resend their records), `proxy_recording` (the proxy passes
 * traffic through without recording it) and `probes` (the probe cron skips). Absent means on.
 * Read through a short per-isolate cache so the request paths need no D1 read each time.
 */
import { drizzle } from "drizzle-orm/d1";
import { controlSwitches } from "../db/schema";
import { withTimeout } from "../lib/timeout";

export const SWITCHES = ["ingestion", "proxy_recording", "probes"] as const;
export type SwitchName = (typeof SWITCHES)[number];
export type Switches = Record<SwitchName, boolean>;

const CACHE_MS = 5_000;
/** The request paths wait at most this long for D1; past it they use the last known value. */
const READ_TIMEOUT_MS = 100;
let cache: { value: Switches; at: number; known: boolean } | null = null;

const allOn = (): Switches => ({ ingestion: true, proxy_recording: true, probes: true });

/** The switches from D1 (fresh). */
export async function loadSwitches(db: D1Database): Promise<Switches> {
  const rows = await drizzle(db).select().from(controlSwitches).all();
  const value = allOn();
  for (const r of rows) if ((SWITCHES as readonly string[]).includes(r.name)) value[r.name as SwitchName] = r.enabled;
  cache = { value, at: Date.now(), known: true };
  return value;
}

/**
 * The switches as cached (at most CACHE_MS old). A read waits at most READ_TIMEOUT_MS; when D1
 * is slow or down the last known value (or all on) is used and kept for CACHE_MS, so a D1
 * outage costs one short wait per isolate every few seconds, never a hung request.
 */
export async function switches(db: D1Database, now = Date.now()): Promise<Switches> {
  if (cache && now - cache.at < CACHE_MS) return cache.value;
  try {
    return await withTimeout(loadSwitches(db), READ_TIMEOUT_MS);
  } catch {
    cache = { value: cache?.value ?? allOn(), at: now, known: cache?.known ?? false };
    return cache.value;
  }
}

/** Whether the cached switches were ever read from D1 (false: all on by default, D1 unread). */
export function switchesKnown(): boolean {
  return cache?.known ?? false;
}

export async function setSwitches(db: D1Database, changes: Partial<Switches>, now = Date.now()): Promise<Switches> {
  const d = drizzle(db);
  for (const [name, enabled] of Object.entries(changes)) {
    if (enabled === undefined) continue;
    await d
      .insert(controlSwitches)
      .values({ name, enabled, updatedAt: now })
      .onConflictDoUpdate({ target: controlSwitches.name, set: { enabled, updatedAt: now } });
  }
  return loadSwitches(db);
}
