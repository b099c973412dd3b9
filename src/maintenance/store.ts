/** Maintenance windows in D1 (`maintenance_windows`). */
import { and, asc, eq, gt, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { maintenanceWindows as table } from "../db/schema";
import type { EndpointRef, MaintenanceWindow } from "./windows";

type Row = typeof table.$inferSelect;

function toWindow(r: Row): MaintenanceWindow {
  return {
    id: r.id,
    service: r.service,
    endpoints: r.endpoints === null ? null : (JSON.parse(r.endpoints) as EndpointRef[]),
    starts_at: r.startsAt,
    ends_at: r.endsAt,
    reason: r.reason,
    created_at: r.createdAt,
  };
}

/** Stores a new window. */
export async function saveWindow(db: D1Database, w: MaintenanceWindow): Promise<void> {
  await drizzle(db)
    .insert(table)
    .values({
      id: w.id,
      service: w.service,
      endpoints: w.endpoints === null ? null : JSON.stringify(w.endpoints),
      startsAt: w.starts_at,
      endsAt: w.ends_at,
      reason: w.reason,
      createdAt: w.created_at,
    });
}

/** Windows ending after `endsAfter` (optionally of one service), by start, at most `limit`. */
export async function loadWindows(
  db: D1Database,
  opts: { service?: string; endsAfter: number; limit?: number },
): Promise<MaintenanceWindow[]> {
  const conditions: SQL[] = [gt(table.endsAt, opts.endsAfter)];
  if (opts.service !== undefined) conditions.push(eq(table.service, opts.service));
  const rows = await drizzle(db)
    .select()
    .from(table)
    .where(and(...conditions))
    .orderBy(asc(table.startsAt), asc(table.id))
    .limit(opts.limit ?? 200)
    .all();
  return rows.map(toWindow);
}

/** One window, or null. */
export async function loadWindow(db: D1Database, id: string): Promise<MaintenanceWindow | null> {
  const row = await drizzle(db).select().from(table).where(eq(table.id, id)).get();
  return row ? toWindow(row) : null;
}

/** Deletes a window; true when there was one. */
export async function deleteWindow(db: D1Database, id: string): Promise<boolean> {
  const deleted = await drizzle(db).delete(table).where(eq(table.id, id)).returning({ id: table.id });
  return deleted.length > 0;
}
