/** What /health reports besides its counters: the version, and whether D1 is reachable and migrated. */
import pkg from "../../package.json";
import { errorMessage } from "../lib/errors";

/** The newest migration in `migrations/`; a test keeps this in step with the folder. */
export const LATEST_MIGRATION = "0012_log_service_hours.sql";

export const VERSION = pkg.version;

type DbCheck = { ok: true; latest_migration: string } | { ok: false; reason: string };

/** Checks that D1 answers and that the latest migration has been applied. */
export async function checkDb(db: D1Database): Promise<DbCheck> {
  try {
    const row = await db
      .prepare("SELECT 1 AS applied FROM d1_migrations WHERE name = ?")
      .bind(LATEST_MIGRATION)
      .first<{ applied: number }>();
    if (!row)
      return { ok: false, reason: `migration ${LATEST_MIGRATION} is not applied: run wrangler d1 migrations apply DB` };
    return { ok: true, latest_migration: LATEST_MIGRATION };
  } catch (err) {
    const message = errorMessage(err);
    if (/no such table/i.test(message)) {
      return { ok: false, reason: "no migrations are applied: run wrangler d1 migrations apply DB" };
    }
    return { ok: false, reason: "D1 is not reachable" };
  }
}
