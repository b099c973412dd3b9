/**
 * The endpoint object's `meta` (key/value) and `counters` tables, on its SQLite. The counts of
 * hand-offs travel in their buffer chunk (one row written per hand-off) and are held here as
 * `pending` until the chunk is pruned and they are folded into `counters`: every read adds them.
 */
import { MAX_COUNTER, UPSERT_META } from "./buffer-sql";
import { addCountsInto, MAX_COUNTERS, type Counts } from "./chunk-codec";

export class ObjectMeta {
  /** Counts committed in retained chunks, not yet in `counters`. */
  private readonly pending: Counts = {};

  /** `carried`: counts kept elsewhere (the buffer's marks), added to every read. */
  constructor(
    private readonly sql: SqlStorage,
    private readonly carried: () => Counts = () => ({}),
  ) {}

  /** Adds counts committed with a chunk (call after the commit). */
  addPending(counts: Counts): void {
    addCountsInto(this.pending, counts);
  }

  /** Writes the counts of pruned chunks into `counters` (inside the prune's transaction). */
  fold(counts: Counts): void {
    const sums: Counts = {};
    for (const [name, n] of Object.entries(counts)) {
      if (MAX_COUNTERS.has(name)) this.sql.exec(MAX_COUNTER, name, n);
      else sums[name] = n;
    }
    this.addCounters(sums);
  }

  /** After a fold committed: its counts are in `counters` now, no longer pending. */
  unpend(counts: Counts): void {
    addCountsInto(this.pending, counts, -1);
  }

  private withPending(name: string, stored: number): number {
    const p = this.pending[name] ?? 0;
    return MAX_COUNTERS.has(name) ? Math.max(stored, p) : stored + p + (this.carried()[name] ?? 0);
  }

  get(key: string): string | null {
    return this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value ?? null;
  }

  /**
   * Stores `value` under `key`: an upsert (one SQLite row written; `INSERT OR REPLACE` of an
   * existing key is a delete and an insert, two rows billed), skipped when the value is unchanged.
   */
  set(key: string, value: string): void {
    this.sql.exec(UPSERT_META, key, value, value);
  }

  delete(key: string): void {
    this.sql.exec("DELETE FROM meta WHERE key = ?", key);
  }

  /** Stores the endpoint's (service, method, route) unless it is stored already. */
  setIdentity(e: { service: string; method: string; route: string }): void {
    this.sql.exec(
      "INSERT OR IGNORE INTO meta (key, value) VALUES ('service', ?), ('method', ?), ('route', ?)",
      e.service,
      e.method,
      e.route,
    );
  }

  counter(name: string): number {
    return this.withPending(
      name,
      this.sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = ?", name).toArray()[0]?.value ?? 0,
    );
  }

  /** Several counters in one query (missing ones are left out: read them as 0). */
  counters(names: readonly string[]): Record<string, number> {
    if (names.length === 0) return {};
    const rows = this.sql.exec<{ name: string; value: number }>(
      `SELECT name, value FROM counters WHERE name IN (${names.map(() => "?").join(", ")})`,
      ...names,
    );
    const stored = Object.fromEntries(rows.toArray().map((r) => [r.name, r.value]));
    const out: Record<string, number> = {};
    const carried = this.carried();
    for (const name of names)
      if (name in stored || name in this.pending || name in carried)
        out[name] = this.withPending(name, stored[name] ?? 0);
    return out;
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
