/**
 * The endpoint object's quarantine: rows D1 refused on their own (see flush.ts), kept with D1's
 * error so that an operator can read them (`GET /v1/control/quarantine`) and try them again
 * once the cause is fixed (`POST /v1/control/quarantine/replay`). A row that now goes in leaves
 * the quarantine; one that fails again stays with the new error. Runs on the object's SQLite.
 */
import { drizzle } from "drizzle-orm/d1";
import { LOG_COLUMNS } from "../db/log-writer";
import { quarantinedEndpoints } from "../db/schema";
import type { Batch, PoisonedRow } from "./flush";

export interface QuarantinedRecord {
  record_key: string;
  /** D1's error the last time the row was tried. */
  error: string;
  quarantined_at: number;
  /** The stored row, by column name (as it would be in D1). */
  record: Record<string, string | number | null>;
}

type Cell = string | number | null;
const cell = (v: unknown): Cell =>
  typeof v === "string" || typeof v === "number" ? v : v === null || v === undefined ? null : JSON.stringify(v);

/** A stored row (positional JSON) as an object keyed by column; the text itself when it is not one. */
export function rowObject(body: string): Record<string, Cell> {
  try {
    const values: unknown = JSON.parse(body);
    if (Array.isArray(values)) return Object.fromEntries(LOG_COLUMNS.map((c, i) => [c, cell(values[i])]));
  } catch {
    // Not JSON: shown as it is below.
  }
  return { body };
}

export class Quarantine {
  constructor(private readonly sql: SqlStorage) {}

  /** Rows held now. */
  count(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM quarantine").one().n;
  }

  /** Up to `limit` rows in key order, after `afterKey` (keyset paging). */
  list(afterKey: string | null, limit: number): QuarantinedRecord[] {
    return this.sql
      .exec<{ record_key: string; body: string; error: string; quarantined_at: number }>(
        "SELECT record_key, body, error, quarantined_at FROM quarantine WHERE record_key > ? ORDER BY record_key LIMIT ?",
        afterKey ?? "",
        limit,
      )
      .toArray()
      .map((r) => ({
        record_key: r.record_key,
        error: r.error,
        quarantined_at: r.quarantined_at,
        record: rowObject(r.body),
      }));
  }

  /** Up to `limit` rows to try again, after `afterKey`. */
  batch(afterKey: string | null, limit: number): Batch {
    const rows = this.sql
      .exec<{ record_key: string; body: string }>(
        "SELECT record_key, body FROM quarantine WHERE record_key > ? ORDER BY record_key LIMIT ?",
        afterKey ?? "",
        limit,
      )
      .toArray();
    return { keys: rows.map((r) => r.record_key), bodies: rows.map((r) => r.body) };
  }

  /** Rows D1 took on replay leave; rows it refused again keep their place with the new error. */
  settle(written: readonly string[], refused: readonly PoisonedRow[]): void {
    this.sql.exec(
      "DELETE FROM quarantine WHERE record_key IN (SELECT value FROM json_each(?))",
      JSON.stringify(written),
    );
    for (const r of refused) this.sql.exec("UPDATE quarantine SET error = ? WHERE record_key = ?", r.error, r.key);
  }
}

/** Publishes how many rows an endpoint holds in quarantine to D1's index of such endpoints. */
export async function publishQuarantineCount(
  db: D1Database,
  endpoint: { service: string; method: string; route: string },
  records: number,
  now: number,
): Promise<void> {
  await drizzle(db)
    .insert(quarantinedEndpoints)
    .values({ ...endpoint, records, updatedAt: now })
    .onConflictDoUpdate({
      target: [quarantinedEndpoints.service, quarantinedEndpoints.method, quarantinedEndpoints.route],
      set: { records, updatedAt: now },
    });
}
