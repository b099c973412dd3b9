/**
 * The SQL of the endpoint buffer (record-buffer.ts): its `chunks` table, its marks' `meta` row and
 * the version 2 `records` table it migrates from. Reads of many chunks return the cursor, so a
 * caller that stops early reads (and is billed for) no further row.
 *
 * Pruned chunk rows stay as spares (below the buffer's `pruned` mark) that later chunks overwrite:
 * one row written, where a delete now and an insert later were two.
 */
import type { ChunkRows } from "./buffer-batches";
import { UPSERT_META } from "./buffer-sql";
import type { ChunkContents } from "./chunk-contents";
import type { PoisonedRow } from "./flush";

/** Spare rows kept for reuse at least (more while the buffer holds more live chunks). */
const SPARE_ROWS_MIN = 64;

/** A chunk row's values after its seq: rows, n, added_at, skipped, counts. */
export type ChunkValues = [string, number, number, string | null, string | null];

export class ChunkTable {
  /** Spare (pruned) rows in the table, reused before a new row is inserted. */
  private spares = 0;

  constructor(private readonly sql: SqlStorage) {}

  /** Counts the spare rows, those below `live` (on wake). */
  loadSpares(live: number): void {
    this.spares = this.countBelow(live);
  }

  /** Writes chunk `seq` over the oldest spare row below `live` when there is one, else as a new row. */
  write(seq: number, values: ChunkValues, live: number): void {
    // A spare row is overwritten (its seq changes): one row written, and no delete billed for it.
    const reused = this.spares > 0 && this.reuseSpare(seq, values, live);
    if (reused) this.spares--;
    else {
      this.spares = 0;
      this.insert(seq, values);
    }
  }

  /**
   * After a prune made `pruned` more rows spares (those below `cut`): deletes the spares beyond
   * what the buffer will want (as many as it holds live, at least SPARE_ROWS_MIN). Returns the
   * spare count, for `commitSpares` once the transaction committed.
   */
  trimSpares(pruned: number, cut: number): number {
    let spares = this.spares + pruned;
    const excess = spares - Math.max(SPARE_ROWS_MIN, this.countFrom(cut));
    if (excess > 0) {
      this.deleteOldestBelow(cut, excess);
      spares -= excess;
    }
    return spares;
  }

  /** The prune's transaction committed: its spare count holds. */
  commitSpares(spares: number): void {
    this.spares = spares;
  }

  /** Puts a row D1 refused on its own into the quarantine. */
  quarantine(p: PoisonedRow, at: number): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO quarantine (record_key, body, error, quarantined_at) VALUES (?, ?, ?, ?)",
      p.key,
      p.body,
      p.error,
      at,
    );
  }

  /** The saved marks' text (null: none saved yet). */
  readMarks(): string | null {
    return (
      this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'buffer_marks'").toArray()[0]?.value ?? null
    );
  }

  /** Saves the marks' text (one row written, none when unchanged). */
  writeMarks(text: string): void {
    this.sql.exec(UPSERT_META, "buffer_marks", text, text);
  }

  /** Chunk rows from seq `from` on (live ones when `from` is the first live seq). */
  countFrom(from: number): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM chunks WHERE seq >= ?", from).one().n;
  }

  /** Chunk rows below seq `below` (spares when `below` is the first live seq). */
  private countBelow(below: number): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM chunks WHERE seq < ?", below).one().n;
  }

  /** The highest seq of any row (0: none). */
  maxSeq(): number {
    return this.sql.exec<{ seq: number | null }>("SELECT max(seq) AS seq FROM chunks").one().seq ?? 0;
  }

  /** Whether chunk `seq` is stored. */
  has(seq: number): boolean {
    return this.sql.exec("SELECT 1 FROM chunks WHERE seq = ?", seq).toArray().length > 0;
  }

  /** The seqs of the chunks from `from` on, in order. */
  seqsFrom(from: number): number[] {
    return this.sql
      .exec<{ seq: number }>("SELECT seq FROM chunks WHERE seq >= ? ORDER BY seq", from)
      .toArray()
      .map((r) => r.seq);
  }

  /** The contents of the chunks in [from, to). */
  contents(from: number, to = Number.MAX_SAFE_INTEGER): Iterable<ChunkContents> {
    return this.sql.exec<{ rows: string; skipped: string | null; counts: string | null }>(
      "SELECT rows, skipped, counts FROM chunks WHERE seq >= ? AND seq < ?",
      from,
      to,
    );
  }

  /** The chunks from `from` on with what the windows need of them, oldest first. */
  windowRows(from: number): Iterable<{ seq: number; added_at: number; rows: string; skipped: string | null }> {
    return this.sql.exec<{ seq: number; added_at: number; rows: string; skipped: string | null }>(
      "SELECT seq, added_at, rows, skipped FROM chunks WHERE seq >= ? ORDER BY seq",
      from,
    );
  }

  /** Up to `limit` chunks in [from, before), oldest first. */
  rowsIn(from: number, before: number, limit: number): Iterable<ChunkRows> {
    return this.sql.exec<{ seq: number; rows: string; n: number }>(
      "SELECT seq, rows, n FROM chunks WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?",
      from,
      before,
      limit,
    );
  }

  /** Records in the chunks from `from` on. */
  recordsFrom(from: number): number {
    return this.sql.exec<{ n: number }>("SELECT total(n) AS n FROM chunks WHERE seq >= ?", from).one().n;
  }

  /** The seq of the first chunk from `from` on added at or after `at` (null: none). */
  firstAddedFrom(from: number, at: number): number | null {
    return this.sql
      .exec<{ seq: number | null }>("SELECT min(seq) AS seq FROM chunks WHERE seq >= ? AND added_at >= ?", from, at)
      .one().seq;
  }

  /** Inserts chunk `seq`. */
  private insert(seq: number, values: ChunkValues): void {
    this.sql.exec(
      "INSERT INTO chunks (seq, rows, n, added_at, skipped, counts) VALUES (?, ?, ?, ?, ?, ?)",
      seq,
      ...values,
    );
  }

  /** Overwrites the oldest row below `below` (a spare) with chunk `seq`; false when there was none. */
  private reuseSpare(seq: number, values: ChunkValues, below: number): boolean {
    const cursor = this.sql.exec(
      "UPDATE chunks SET seq = ?, rows = ?, n = ?, added_at = ?, skipped = ?, counts = ? WHERE seq = (SELECT min(seq) FROM chunks WHERE seq < ?)",
      seq,
      ...values,
      below,
    );
    cursor.toArray();
    return cursor.rowsWritten > 0;
  }

  /** Deletes the `count` oldest rows below `below`. */
  private deleteOldestBelow(below: number, count: number): void {
    this.sql.exec(
      "DELETE FROM chunks WHERE seq IN (SELECT seq FROM chunks WHERE seq < ? ORDER BY seq LIMIT ?)",
      below,
      count,
    );
  }

  /** The rows of the version 2 `records` table, oldest first (null: no such table). */
  legacyRecords(): { body: string; flushed_at: number | null }[] | null {
    if (this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'records'").toArray().length === 0)
      return null;
    return this.sql
      .exec<{ body: string; flushed_at: number | null }>("SELECT body, flushed_at FROM records ORDER BY ts")
      .toArray();
  }

  /** Drops the version 2 `records` table. */
  dropLegacy(): void {
    this.sql.exec("DROP TABLE records");
  }
}
