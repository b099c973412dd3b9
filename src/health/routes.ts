/**
 * Health: `/health` (status, version, time), `/health/live` (no I/O), `/health/ready` and
 * `/health/db` (D1 reachable and every migration applied).
 */
import { Hono } from "hono";
import { switches, switchesKnown } from "../control/switches";
import pkg from "../../package.json";
import type { AppEnv } from "../http/types";
import { ingestCounters } from "../ingest/counters";
import { storageState } from "../ingest/storage-state";

/** The newest migration in `migrations/`; a test keeps this in step with the folder. */
export const LATEST_MIGRATION = "0007_quarantined_endpoints.sql";

export const VERSION = pkg.version;

type DbCheck = { ok: true; latest_migration: string } | { ok: false; reason: string };

/** Checks that D1 answers and that the latest migration has been applied. */
export async function checkDb(db: D1Database): Promise<DbCheck> {
  try {
    const row = await db
      .prepare("SELECT 1 AS applied FROM d1_migrations WHERE name = ?")
      .bind(LATEST_MIGRATION)
      .first<{ applied: number }>();
    if (!row) return { ok: false, reason: `migration ${LATEST_MIGRATION} is not applied: run wrangler d1 migrations apply DB` };
    return { ok: true, latest_migration: LATEST_MIGRATION };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/no such table/i.test(message)) {
      return { ok: false, reason: "no migrations are applied: run wrangler d1 migrations apply DB" };
    }
    return { ok: false, reason: "D1 is not reachable" };
  }
}

export const healthApp = new Hono<AppEnv>()
  .get("/", async (c) => {
    const storage = storageState();
    return c.json({
      // "degraded": D1 refuses writes for capacity; records are kept in the endpoint objects meanwhile.
      status: storage.storage === "full" ? "degraded" : "ok",
      version: VERSION,
      time: new Date().toISOString(),
      ...storage,
      ingest: { ...ingestCounters },
      // The operator's switches (cached for a few seconds); `switches_known` false: D1 could not be read.
      switches: await switches(c.env.DB),
      switches_known: switchesKnown(),
    });
  })
  .get("/live", (c) => c.json({ status: "ok" }))
  .get("/ready", async (c) => {
    const db = await checkDb(c.env.DB);
    return c.json({ status: db.ok ? "ok" : "unavailable", checks: { db } }, db.ok ? 200 : 503);
  })
  .get("/db", async (c) => {
    const db = await checkDb(c.env.DB);
    return c.json({ status: db.ok ? "ok" : "unavailable", ...db }, db.ok ? 200 : 503);
  });
