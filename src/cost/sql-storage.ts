/**
 * The endpoint object's SQLite, counted: every cursor `exec()` returns is remembered, and
 * `collect()` adds up their `rowsWritten` and `rowsRead` (final once a cursor is consumed, which
 * the object's code always does before it yields) and forgets them. Nothing is written to count:
 * the totals live in memory and are persisted with writes that happen anyway.
 */

/** What `collect()` returns. */
export interface SqlRows {
  written: number;
  read: number;
}

/** SqlStorage plus `collect()`. */
export interface MeteredSql extends SqlStorage {
  collect(): SqlRows;
}

/** Cursors kept before they are summed early, so that an object that never collects stays bounded. */
const MAX_PENDING = 512;

/** Wraps `sql` so that the rows its statements write and read can be collected. */
export function meteredSql(sql: SqlStorage): MeteredSql {
  let pending: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  let carried: SqlRows = { written: 0, read: 0 };
  const sum = (): SqlRows => {
    const out = { ...carried };
    for (const c of pending) {
      out.written += c.rowsWritten;
      out.read += c.rowsRead;
    }
    return out;
  };
  return {
    exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> {
      if (pending.length >= MAX_PENDING) {
        carried = sum();
        pending = [];
      }
      const cursor = sql.exec<T>(query, ...bindings);
      pending.push(cursor);
      return cursor;
    },
    get databaseSize() {
      return sql.databaseSize;
    },
    Cursor: sql.Cursor,
    Statement: sql.Statement,
    collect(): SqlRows {
      const out = sum();
      pending = [];
      carried = { written: 0, read: 0 };
      return out;
    },
  };
}
