/**
 * The endpoint object's SQLite schema, created and migrated in numbered steps under a version
 * kept in `meta` (`schema_version`) and read on wake: a wake runs only the steps above it, in one
 * transaction with the new version, and an object already at the latest version runs none (the
 * tables used to be created again on every wake).
 *
 * Versions 1-3 were written by the code before these steps, which created every table on every
 * wake, so an object at 3 or below may lack any later table or column: step 4 brings any of them to
 * today's schema and is safe on all of them (IF NOT EXISTS, a column added only when missing). A
 * change of schema is a new step at the end, never an edit of a step: step 4 runs the statement
 * lists it imports (SCHEMA_STATEMENTS, WINDOW_SCHEMA, DETECTION_SCHEMA, OUTBOX_SCHEMA), so those are
 * frozen too (an edit there would reach new objects only).
 */
import { SCHEMA_STATEMENTS } from "./buffer-sql";
import { DETECTION_SCHEMA } from "./incident-rows";
import { OUTBOX_SCHEMA } from "../alerts/outbox";
import { addStatus429, migrateWindows, WINDOW_SCHEMA } from "./window-rows";

export interface SchemaStep {
  version: number;
  /** What the step does, for the log and for the reader. */
  what: string;
  run(sql: SqlStorage): void;
}

export const OBJECT_SCHEMA_STEPS: readonly SchemaStep[] = [
  {
    version: 4,
    what: "buffer chunks, counters, quarantine, windows (with breakdown), incidents and the alert outbox; minute_buckets dropped",
    run(sql) {
      for (const statement of [...SCHEMA_STATEMENTS, ...WINDOW_SCHEMA, ...DETECTION_SCHEMA, ...OUTBOX_SCHEMA])
        sql.exec(statement);
      migrateWindows(sql);
    },
  },
  {
    version: 5,
    what: "windows: a status_429 column (429s per bucket, for surges turned away by a rate limiter)",
    run: addStatus429,
  },
];

/** The version of the latest step. */
export const OBJECT_SCHEMA_VERSION = OBJECT_SCHEMA_STEPS.reduce((max, s) => Math.max(max, s.version), 0);

/** The stored version (0: a new object, or none stored). */
export function storedSchemaVersion(sql: SqlStorage): number {
  const meta = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray();
  if (meta.length === 0) return 0;
  const row = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0];
  const version = Number(row?.value ?? 0);
  return Number.isInteger(version) && version > 0 ? version : 0;
}

/**
 * Runs the steps above the stored version, in order, and stores the new version, in the caller's
 * transaction (the object's constructor, under blockConcurrencyWhile). Returns the versions.
 */
export function migrateObjectSchema(
  sql: SqlStorage,
  steps: readonly SchemaStep[] = OBJECT_SCHEMA_STEPS,
): { from: number; to: number; ran: number[] } {
  const from = storedSchemaVersion(sql);
  const due = steps.filter((s) => s.version > from).sort((a, b) => a.version - b.version);
  if (due.length === 0) return { from, to: from, ran: [] };
  for (const step of due) step.run(sql);
  const to = due[due.length - 1]?.version ?? from;
  sql.exec(
    "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    String(to),
  );
  return { from, to, ran: due.map((s) => s.version) };
}
