/** Deploy markers in D1 (`deploys`): one row per (service, version), the earliest time it was seen. */
import { and, desc, eq, gte, lte, sql, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { deploys as table } from "../db/schema";
import type { Deploy } from "./deploys";

type Row = typeof table.$inferSelect;

function toDeploy(r: Row): Deploy {
  return {
    id: r.id,
    service: r.service,
    version: r.version,
    at: r.at,
    description: r.description,
    source: r.source === "records" ? "records" : "api",
  };
}

/**
 * Stores a deploy. The same (service, version) again keeps one row: the API's word wins over a
 * version seen on records (its time and description), records only move it earlier.
 */
export async function saveDeploy(db: D1Database, d: Deploy, now: number): Promise<void> {
  const insert = drizzle(db).insert(table).values({
    id: d.id,
    service: d.service,
    version: d.version,
    at: d.at,
    description: d.description,
    source: d.source,
    createdAt: now,
  });
  if (d.source === "api") {
    await insert.onConflictDoUpdate({ target: table.id, set: { at: d.at, description: d.description, source: "api" } });
  } else {
    await insert.onConflictDoUpdate({
      target: table.id,
      set: { at: sql`min(${table.at}, excluded.at)` },
      setWhere: sql`${table.source} = 'records'`,
    });
  }
}

/** Deploys in [from, to] (optionally of one service), newest first, at most `limit`. */
export async function loadDeploys(
  db: D1Database,
  opts: { service?: string; from: number; to: number; limit?: number },
): Promise<Deploy[]> {
  const conditions: SQL[] = [gte(table.at, opts.from), lte(table.at, opts.to)];
  if (opts.service !== undefined) conditions.push(eq(table.service, opts.service));
  const rows = await drizzle(db)
    .select()
    .from(table)
    .where(and(...conditions))
    .orderBy(desc(table.at))
    .limit(opts.limit ?? 200)
    .all();
  return rows.map(toDeploy);
}

/** One deploy by id, or null. */
export async function loadDeploy(db: D1Database, id: string): Promise<Deploy | null> {
  const row = await drizzle(db).select().from(table).where(eq(table.id, id)).get();
  return row ? toDeploy(row) : null;
}
