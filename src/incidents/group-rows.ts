/**
 * The tables of an IncidentGroups object (group-object.ts) in its own SQLite: each group as JSON
 * with a `dirty` flag (changed since it was last published to D1), and the member index that
 * finds a member's group. Synchronous, so the object can read and write inside `transactionSync`.
 */
import type { IncidentGroup } from "./group-types";

/** The statements that create the tables (idempotent). */
export const GROUP_SCHEMA = [
  "CREATE TABLE IF NOT EXISTS groups (id TEXT PRIMARY KEY, status TEXT NOT NULL, body TEXT NOT NULL, dirty INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL)",
  "CREATE TABLE IF NOT EXISTS members (incident_id TEXT PRIMARY KEY, group_id TEXT NOT NULL)",
];

/** Most groups one read returns (open ones, recently resolved ones, unpublished ones). */
const READ_LIMIT = 50;

/** The groups and member index of one group object. */
export class GroupRows {
  constructor(private readonly sql: SqlStorage) {}

  /** The group with this id, or null. */
  load(id: string): IncidentGroup | null {
    const row = this.sql.exec<{ body: string }>("SELECT body FROM groups WHERE id = ?", id).toArray()[0];
    return row ? (JSON.parse(row.body) as IncidentGroup) : null;
  }

  /** Stores the group (marked for publishing) and indexes its members. */
  save(g: IncidentGroup): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO groups (id, status, body, dirty, updated_at) VALUES (?, ?, ?, 1, ?)",
      g.id,
      g.status,
      JSON.stringify(g),
      g.updated_at,
    );
    for (const m of g.members)
      this.sql.exec("INSERT OR IGNORE INTO members (incident_id, group_id) VALUES (?, ?)", m.incident_id, g.id);
  }

  /** The group the incident is a member of, or null. */
  ofMember(incidentId: string): IncidentGroup | null {
    const row = this.sql
      .exec<{ group_id: string }>("SELECT group_id FROM members WHERE incident_id = ?", incidentId)
      .toArray()[0];
    return row ? this.load(row.group_id) : null;
  }

  /** The open groups, most recently changed first. */
  open(): IncidentGroup[] {
    return this.sql
      .exec<{ body: string }>(
        "SELECT body FROM groups WHERE status = 'open' ORDER BY updated_at DESC LIMIT ?",
        READ_LIMIT,
      )
      .toArray()
      .map((r) => JSON.parse(r.body) as IncidentGroup);
  }

  /** Resolved groups whose alert never went out (they resolved within their grace). */
  resolvedUnannounced(): IncidentGroup[] {
    return this.sql
      .exec<{ body: string }>(
        "SELECT body FROM groups WHERE status = 'resolved' ORDER BY updated_at DESC LIMIT ?",
        READ_LIMIT,
      )
      .toArray()
      .map((r) => JSON.parse(r.body) as IncidentGroup)
      .filter((g) => g.alert === "none");
  }

  /** Groups changed since they were last published, each with the stored text it was read as. */
  dirty(): { body: string; group: IncidentGroup }[] {
    return this.sql
      .exec<{ body: string }>("SELECT body FROM groups WHERE dirty = 1 LIMIT ?", READ_LIMIT)
      .toArray()
      .map((r) => ({ body: r.body, group: JSON.parse(r.body) as IncidentGroup }));
  }

  /** Marks a group published, unless it changed since it was read as `body`. */
  published(body: string): void {
    this.sql.exec("UPDATE groups SET dirty = 0 WHERE body = ?", body);
  }

  /** Forgets published groups resolved before `before`, and their members. */
  dropResolved(before: number): void {
    this.sql.exec("DELETE FROM groups WHERE status = 'resolved' AND dirty = 0 AND updated_at < ?", before);
    this.sql.exec("DELETE FROM members WHERE group_id NOT IN (SELECT id FROM groups)");
  }
}
