/** Detection settings per service in D1 (`detection_settings`), validated JSON. */
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { detectionSettings as table } from "../db/schema";
import { detectionSettings, type DetectionSettings } from "../detect/config";
import { log } from "../lib/log";

export async function loadDetectionSettings(
  db: D1Database,
  service: string,
): Promise<{ settings: DetectionSettings; updated_at: number } | null> {
  const row = await drizzle(db).select().from(table).where(eq(table.service, service)).get();
  if (!row) return null;
  const parsed = detectionSettings.safeParse(JSON.parse(row.config));
  if (!parsed.success) {
    log("warn", "detection_settings_invalid", { service });
    return null;
  }
  return { settings: parsed.data, updated_at: row.updatedAt };
}

/** Stores the settings; true when the service had settings before. */
export async function saveDetectionSettings(
  db: D1Database,
  service: string,
  settings: DetectionSettings,
  now = Date.now(),
): Promise<boolean> {
  const d = drizzle(db);
  const existed =
    (await d.select({ service: table.service }).from(table).where(eq(table.service, service)).get()) !== undefined;
  const config = JSON.stringify(settings);
  await d
    .insert(table)
    .values({ service, config, updatedAt: now })
    .onConflictDoUpdate({ target: table.service, set: { config, updatedAt: now } });
  return existed;
}

export async function deleteDetectionSettings(db: D1Database, service: string): Promise<boolean> {
  const deleted = await drizzle(db)
    .delete(table)
    .where(eq(table.service, service))
    .returning({ service: table.service });
  return deleted.length > 0;
}
