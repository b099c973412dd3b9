/**
 * The group key an IncidentGroups object serves (its name), kept in its own storage. The object's
 * name (`ctx.id.name`) can be missing in an alarm of an object evicted before the alarm fired
 * (workerd#6850); the alarm then reads the key stored when the object first woke by name, so it
 * can still name the object in its queue hand-off (see src/alerts/handoff.ts).
 */

/** The statement that creates the key's table (idempotent; one row at most). */
export const GROUP_KEY_SCHEMA =
  "CREATE TABLE IF NOT EXISTS group_key (id INTEGER PRIMARY KEY CHECK (id = 1), key TEXT NOT NULL)";

/** The stored key, storing `name` first (one row, once) when the object has a name and none is stored yet. */
export function rememberGroupKey(sql: SqlStorage, name: string | undefined): string | null {
  const stored = sql.exec<{ key: string }>("SELECT key FROM group_key WHERE id = 1").toArray()[0]?.key ?? null;
  if (stored !== null || name === undefined) return stored;
  sql.exec("INSERT INTO group_key (id, key) VALUES (1, ?)", name);
  return name;
}
