/** The endpoint object's `meta` (key/value) and `counters` tables, on its SQLite. */
export class ObjectMeta {
  constructor(private readonly sql: SqlStorage) {}

  get(key: string): string | null {
    return this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value ?? null;
  }

  set(key: string, value: string): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
  }

  delete(key: string): void {
    this.sql.exec("DELETE FROM meta WHERE key = ?", key);
  }

  /** Stores the endpoint's (service, method, route) unless it is stored already. */
  setIdentity(e: { service: string; method: string; route: string }): void {
    this.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('service', ?), ('method', ?), ('route', ?)", e.service, e.method, e.route);
  }

  counter(name: string): number {
    return this.sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = ?", name).toArray()[0]?.value ?? 0;
  }

  /** Several counters in one query (missing ones are left out: read them as 0). */
  counters(names: readonly string[]): Record<string, number> {
    if (names.length === 0) return {};
    const rows = this.sql.exec<{ name: string; value: number }>(`SELECT name, value FROM counters WHERE name IN (${names.map(() => "?").join(", ")})`, ...names);
    return Object.fromEntries(rows.toArray().map((r) => [r.name, r.value]));
  }

  /** Adds to several counters in one statement, skipping zeros. */
  addCounters(increments: Record<string, number>): void {
    const entries = Object.entries(increments).filter(([, n]) => n !== 0);
    if (entries.length === 0) return;
    this.sql.exec(
      `INSERT INTO counters (name, value) VALUES ${entries.map(() => "(?, ?)").join(", ")}
       ON CONFLICT (name) DO UPDATE SET value = value + excluded.value`,
      ...entries.flat(),
    );
  }
}
