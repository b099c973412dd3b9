/**
 * The endpoint object's `incidents` table: every incident it holds, as JSON, and whether its
 * latest body still has to be copied to D1 (`dirty`). The object keeps only the open ones and the
 * last few resolved once D1 has them.
 *
 * Bodies are parsed with zod (src/detect/incident-schema.ts). A body that does not parse is logged
 * and left out, and harms no other incident: lists skip it, and the copy to D1 holds it apart
 * (`dirty = 2`: never copied, never pruned) so it stays in the table as it is, for inspection.
 */
import type { Incident } from "../detect/incident";
import { IncidentSchema } from "../detect/incident-schema";
import { parseStoredOrNull } from "../lib/stored-schema";

export const DETECTION_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS incidents (id TEXT PRIMARY KEY, status TEXT NOT NULL, body TEXT NOT NULL, dirty INTEGER NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS incidents_dirty ON incidents (dirty) WHERE dirty = 1`,
];

/** An incident row not yet copied to D1: its id, the body to copy, and that body parsed. */
export interface DirtyIncident {
  id: string;
  body: string;
  incident: Incident;
}

export class IncidentRows {
  constructor(private readonly sql: SqlStorage) {}

  /** Stores an incident and marks it for the copy to D1. */
  put(incident: Incident): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO incidents (id, status, body, dirty) VALUES (?, ?, ?, 1)",
      incident.id,
      incident.status,
      JSON.stringify(incident),
    );
  }

  /** The newest incidents, newest first. */
  list(limit: number): Incident[] {
    return this.sql
      .exec<{ id: string; body: string }>("SELECT id, body FROM incidents ORDER BY id DESC LIMIT ?", limit)
      .toArray()
      .flatMap((r) => this.parse(r.body, r.id) ?? []);
  }

  private parse(body: string, id: string): Incident | null {
    return parseStoredOrNull(IncidentSchema, "incidents", body, { id });
  }

  /** Whether an incident waits for the copy to D1. */
  anyDirty(): boolean {
    return this.sql.exec("SELECT 1 FROM incidents WHERE dirty = 1 LIMIT 1").toArray().length > 0;
  }

  /** Up to 100 incidents waiting for the copy to D1. */
  dirty(): DirtyIncident[] {
    const rows = this.sql
      .exec<{ id: string; body: string }>("SELECT id, body FROM incidents WHERE dirty = 1 LIMIT 100")
      .toArray();
    const out: DirtyIncident[] = [];
    for (const r of rows) {
      const incident = this.parse(r.body, r.id);
      // A body that does not parse is never copied; left dirty, it would hold a round slot forever.
      // It is held apart (dirty = 2): neither copied nor pruned, kept for inspection.
      if (incident === null) this.sql.exec("UPDATE incidents SET dirty = 2 WHERE id = ? AND body = ?", r.id, r.body);
      else out.push({ ...r, incident });
    }
    return out;
  }

  /** D1 has `d`: clean unless its body changed meanwhile. */
  markCopied(d: Pick<DirtyIncident, "id" | "body">): void {
    this.sql.exec("UPDATE incidents SET dirty = 0 WHERE id = ? AND body = ?", d.id, d.body);
  }

  /** Resolved incidents are in D1 once copied; the object keeps only the last few. */
  pruneResolved(): void {
    this.sql.exec(
      "DELETE FROM incidents WHERE dirty = 0 AND status = 'resolved' AND id NOT IN (SELECT id FROM incidents ORDER BY id DESC LIMIT 20)",
    );
  }
}
