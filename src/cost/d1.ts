/**
 * A D1 binding that counts what it bills: every `run()`, `all()` and `batch()` result carries
 * `meta.rows_written`, `meta.rows_read` and `meta.size_after`, which the wrapper adds to a
 * `CostMeter`. `first()` and `raw()` (drizzle's selects go through `raw()`) return no meta:
 * they are counted as unmetered statements and their rows read are not known. Reads are
 * billed at $0.001 per million rows, a small share of the bill, so the gap is stated rather than
 * estimated. Sessions (`withSession`) and `exec()` pass through unmetered.
 */
import type { CostMeter } from "./counts";

const inner = new WeakMap<D1PreparedStatement, D1PreparedStatement>();

class MeteredStatement implements D1PreparedStatement {
  constructor(
    private readonly stmt: D1PreparedStatement,
    private readonly meter: CostMeter,
  ) {
    inner.set(this, stmt);
  }

  bind(...values: unknown[]): D1PreparedStatement {
    return new MeteredStatement(this.stmt.bind(...values), this.meter);
  }

  first<T = unknown>(colName: string): Promise<T | null>;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  async first<T>(colName?: string): Promise<T | null> {
    this.meter.addD1Meta(undefined);
    return colName === undefined ? this.stmt.first<T>() : this.stmt.first<T>(colName);
  }

  async run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    const result = await this.stmt.run<T>();
    this.meter.addD1Meta(result.meta);
    return result;
  }

  async all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    const result = await this.stmt.all<T>();
    this.meter.addD1Meta(result.meta);
    return result;
  }

  raw<T = unknown[]>(options: { columnNames: true }): Promise<[string[], ...T[]]>;
  raw<T = unknown[]>(options?: { columnNames?: false }): Promise<T[]>;
  async raw<T>(options?: { columnNames?: boolean }): Promise<[string[], ...T[]] | T[]> {
    this.meter.addD1Meta(undefined);
    return options?.columnNames === true ? this.stmt.raw<T>({ columnNames: true }) : this.stmt.raw<T>();
  }
}

/** The statement D1 itself made, for a statement of ours or of D1 (batch() needs D1's own). */
function unwrap(stmt: D1PreparedStatement): D1PreparedStatement {
  return inner.get(stmt) ?? stmt;
}

/** `db`, with the rows written and read of every metered statement added to `meter`. */
export function meteredD1(db: D1Database, meter: CostMeter): D1Database {
  return {
    prepare: (query: string) => new MeteredStatement(db.prepare(query), meter),
    batch: async <T = unknown>(statements: D1PreparedStatement[]) => {
      const results = await db.batch<T>(statements.map(unwrap));
      for (const r of results) meter.addD1Meta(r.meta);
      return results;
    },
    exec: (query: string) => db.exec(query),
    withSession: (constraintOrBookmark?: Parameters<D1Database["withSession"]>[0]) =>
      db.withSession(constraintOrBookmark),
    dump: () => db.dump(),
  };
}
