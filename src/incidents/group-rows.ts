/**
 * The tables of an IncidentGroups object (group-object.ts) in its own SQLite: each group as JSON
 * with a `dirty` flag (changed since it was last published to D1), and the member index that
 * finds a member's group. Synchronous, so the object can read and write inside `transactionSync`.
 *
 * Bodies are parsed with zod (group-schema.ts). A body that does not parse is logged and read as no
 * group, harming no other: lists leave it out, its members count as in no group (they go alone or
 * join another), and it is never published (marked clean, it stays as it is for inspection).
 */
import { parseStoredOrNull } from "../lib/stored-schema";
import { IncidentGroupSchema } from "./group-schema";
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
    return row ? this.parse(row.body, id) : null;
  }

  private parse(body: string, id: string): IncidentGroup | null {
    return parseStoredOrNull(IncidentGroupSchema, "groups", body, { id });
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
      .exec<{ id: string; body: string }>(
        "SELECT id, body FROM groups WHERE status = 'open' ORDER BY updated_at DESC LIMIT ?",
        READ_LIMIT,
      )
      .toArray()
      .flatMap((r) => this.parse(r.body, r.id) ?? []);
  }

  /** Resolved groups whose alert never went out (they resolved within their grace). */
  resolvedUnannounced(): IncidentGroup[] {
    return this.sql
      .exec<{ id: string; body: string }>(
        "SELECT id, body FROM groups WHERE status = 'resolved' ORDER BY updated_at DESC LIMIT ?",
        READ_LIMIT,
      )
      .toArray()
      .flatMap((r) => this.parse(r.body, r.id) ?? [])
      .filter((g) => g.alert === "none");
  }

  /** Groups changed since they were last published, each with the stored text it was read as. */
  dirty(): { body: string; group: IncidentGroup }[] {
    const rows = this.sql
      .exec<{ id: string; body: string }>("SELECT id, body FROM groups WHERE dirty = 1 LIMIT ?", READ_LIMIT)
      .toArray();
    const out: { body: string; group: IncidentGroup }[] = [];
    for (const r of rows) {
      const group = this.parse(r.body, r.id);
      // Never published; left dirty, it would hold one of the read's slots forever.
      if (group === null) this.published(r.body);
      else out.push({ body: r.body, group });
    }
    return out;
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
