/**
 * The endpoint object's buffer of raw records on their way to D1 and the R2 archive.
 *
 * Durable Object SQLite bills every row written, so the buffer writes one row per hand-off, not
 * per record: a chunk holding the JSON array of the hand-off's fresh rows and its counter
 * increments. Flush progress is two watermarks in one `meta` row: how far D1 took the chunks
 * (a chunk seq and an offset in it, since a D1 batch may end mid-chunk) and how far R2 did (whole
 * chunks). The same row keeps when the chunks below a seq were taken by both (a few entries,
 * coalesced per minute towards the later time), so a chunk stays for the dedup window after both
 * took it, as a record did before; then it goes with its neighbours in one range delete, its
 * counts folded into `counters` in the same transaction.
 *
 * Deduplication of retried hand-offs reads an in-memory set of the keys of the retained chunks,
 * rebuilt from them when the object wakes. The set and the pending counts change only after the
 * transaction that wrote the chunk committed (`remember`), so a rolled-back hand-off is not
 * remembered. Call the writing methods inside a transaction.
 */
import { MAX_BATCH_BYTES, MAX_BATCH_RECORDS, ROW_KEY, toLogRow, utf8Bytes } from "../db/log-writer";
import type { LogRecord } from "../ingest/record";
import type { Batch, PoisonedRow } from "./flush";
import { UPSERT_META } from "./buffer-sql";

/** How long flushed keys are remembered to recognise a retried hand-off. */
export const DEDUP_WINDOW_MS = 15 * 60 * 1000;
/** Largest `rows` text of one chunk (Durable Object SQLite caps a value at 2 MB). */
const MAX_CHUNK_BYTES = 1536 * 1024;
/** Counters that keep their maximum instead of a sum. */
export const MAX_COUNTERS: ReadonlySet<string> = new Set(["last_event_at"]);

export type Counts = Record<string, number>;

/** Where the next row to flush is: chunk `seq` (or the first after it), row `offset` of that chunk. */
export interface Position {
  seq: number;
  offset: number;
}

interface Marks {
  d1: Position;
  /** Chunks before this seq are archived. */
  r2: number;
  /** [time, seq]: by `time`, every chunk before `seq` was taken (by D1, and R2 when it counts), newest last. */
  taken?: [number, number][];
}

/** Entries of `taken` closer than this are merged into the later one (later time: chunks kept a little longer, never less). */
const TAKEN_GRAIN_MS = 60_000;

/** A D1 batch and where the buffer stands once D1 took it (or a prefix of it). */
export interface BufferBatch extends Batch {
  /** Per chunk the batch reads from: its seq, first offset read, rows read and its size. */
  spans: { seq: number; from: number; count: number; n: number }[];
  end: Position;
}

/** Whole chunks for the archive: their rows (positional) and the seq range [from, next). */
export interface ArchiveBatch {
  from: number;
  next: number;
  rows: unknown[][];
}

/** Adds `b` into `a` (sums, or the maximum for MAX_COUNTERS). */
export function addCountsInto(a: Counts, b: Counts, sign = 1): void {
  for (const [name, n] of Object.entries(b)) {
    if (MAX_COUNTERS.has(name)) a[name] = sign > 0 ? Math.max(a[name] ?? 0, n) : (a[name] ?? 0);
    else a[name] = (a[name] ?? 0) + sign * n;
  }
}

export class RecordBuffer {
  /** Keys of the records in retained chunks (stored or sampled out). */
  private readonly keys = new Set<string>();
  private marks: Marks = { d1: { seq: 0, offset: 0 }, r2: 0 };
  /** Seq of the next chunk: above every chunk and both watermarks, so a seq is never reused after a prune. */
  private nextSeq = 1;

  /** `archived`: chunks wait for the R2 watermark too (the archive is bound). */
  constructor(
    private readonly sql: SqlStorage,
    private readonly archived: boolean,
  ) {}

  /**
   * Loads the watermarks and the key set (on wake), migrating a version 2 `records` table into
   * chunks first; returns the counts of the retained chunks (not yet in `counters`).
   */
  load(now: number): Counts {
    const saved = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'buffer_marks'").toArray()[0];
    if (saved) this.marks = JSON.parse(saved.value) as Marks;
    this.migrateRecordsTable(now);
    this.resetNextSeq();
    const counts: Counts = {};
    this.keys.clear();
    for (const c of this.sql.exec<{ rows: string; skipped: string | null; counts: string | null }>("SELECT rows, skipped, counts FROM chunks")) {
      for (const row of JSON.parse(c.rows) as unknown[][]) this.keys.add(String(row[ROW_KEY]));
      if (c.skipped) for (const key of JSON.parse(c.skipped) as string[]) this.keys.add(key);
      if (c.counts) addCountsInto(counts, JSON.parse(c.counts) as Counts);
    }
    return counts;
  }

  /** The records of a hand-off not seen before (nor earlier in the same hand-off). */
  fresh(records: readonly LogRecord[]): LogRecord[] {
    const seen = new Set<string>();
    return records.filter((r) => {
      if (this.keys.has(r.key) || seen.has(r.key)) return false;
      seen.add(r.key);
      return true;
    });
  }

  /** Stores one hand-off as one chunk row (more only past MAX_CHUNK_BYTES); sampled-out records are kept as keys only. */
  append(fresh: readonly LogRecord[], counts: Counts, now: number): void {
    const bodies = fresh.filter((r) => !r.sampled_out).map((r) => JSON.stringify(toLogRow(r)));
    const skipped = fresh.filter((r) => r.sampled_out).map((r) => r.key);
    this.insertChunks(bodies, skipped, counts, now);
  }

  /** After the chunk committed: remembers its keys for deduplication. */
  remember(fresh: readonly LogRecord[]): void {
    for (const r of fresh) this.keys.add(r.key);
  }

  private insertChunks(bodies: readonly string[], skipped: readonly string[], counts: Counts, now: number): void {
    let first = true;
    let start = 0;
    while (first || start < bodies.length) {
      let end = start;
      let bytes = 2;
      while (end < bodies.length && (end === start || bytes + utf8Bytes(bodies[end] ?? "") + 1 <= MAX_CHUNK_BYTES)) bytes += utf8Bytes(bodies[end++] ?? "") + 1;
      this.sql.exec(
        "INSERT INTO chunks (seq, rows, n, added_at, skipped, counts) VALUES (?, ?, ?, ?, ?, ?)",
        this.nextSeq++,
        `[${bodies.slice(start, end).join(",")}]`,
        end - start,
        now,
        first && skipped.length > 0 ? JSON.stringify(skipped) : null,
        first && Object.keys(counts).length > 0 ? JSON.stringify(counts) : null,
      );
      first = false;
      start = end;
    }
  }

  /** Records not yet in D1. */
  backlog(): number {
    return this.pendingFrom(this.marks.d1.seq) - this.offsetIn(this.marks.d1);
  }

  /** Records not yet in the archive. */
  archiveBacklog(): number {
    return this.pendingFrom(this.marks.r2);
  }

  private pendingFrom(seq: number): number {
    return this.sql.exec<{ n: number }>("SELECT total(n) AS n FROM chunks WHERE seq >= ?", seq).one().n;
  }

  private offsetIn(p: Position): number {
    return p.offset > 0 && this.sql.exec("SELECT 1 FROM chunks WHERE seq = ?", p.seq).toArray().length > 0 ? p.offset : 0;
  }

  /** The seq of the first chunk added at or after `at` (chunks before it were added before `at`), or null when none. */
  firstSeqAddedFrom(at: number): number | null {
    return this.sql.exec<{ seq: number | null }>("SELECT min(seq) AS seq FROM chunks WHERE added_at >= ?", at).one().seq;
  }

  /** The oldest rows not yet in D1, within D1's batch limits (a batch may end mid-chunk), from chunks before `beforeSeq`. */
  nextBatch(beforeSeq = Number.MAX_SAFE_INTEGER): BufferBatch {
    const batch: BufferBatch = { keys: [], bodies: [], spans: [], end: this.marks.d1 };
    let bytes = 0;
    const chunks = this.sql.exec<{ seq: number; rows: string; n: number }>(
      "SELECT seq, rows, n FROM chunks WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?",
      this.marks.d1.seq,
      beforeSeq,
      MAX_BATCH_RECORDS,
    );
    for (const c of chunks) {
      const from = c.seq === this.marks.d1.seq ? this.marks.d1.offset : 0;
      const rows = JSON.parse(c.rows) as unknown[][];
      let i = from;
      for (; i < rows.length && batch.keys.length < MAX_BATCH_RECORDS; i++) {
        const body = JSON.stringify(rows[i]);
        const size = utf8Bytes(body) + 1;
        if (batch.keys.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
        batch.keys.push(String(rows[i]?.[ROW_KEY]));
        batch.bodies.push(body);
        bytes += size;
      }
      batch.spans.push({ seq: c.seq, from, count: i - from, n: c.n });
      batch.end = i >= rows.length ? { seq: c.seq + 1, offset: 0 } : { seq: c.seq, offset: i };
      if (i < rows.length) break;
    }
    return batch;
  }

  /** Where the buffer stands after the first `count` rows of `batch`. */
  static positionAfter(batch: BufferBatch, count: number): Position {
    let left = count;
    for (const s of batch.spans) {
      if (left < s.count) return { seq: s.seq, offset: s.from + left };
      left -= s.count;
    }
    return batch.end;
  }

  /** D1 took the batch up to `to` (rows `poisoned` refused on their own go to the quarantine). */
  markFlushed(to: Position, poisoned: readonly PoisonedRow[], at: number): void {
    for (const p of poisoned) {
      this.sql.exec("INSERT OR REPLACE INTO quarantine (record_key, body, error, quarantined_at) VALUES (?, ?, ?, ?)", p.key, p.body, p.error, at);
    }
    if (to.seq === this.marks.d1.seq && to.offset === this.marks.d1.offset) return;
    this.saveMarks({ ...this.marks, d1: to }, at);
  }

  /**
   * Whole chunks not yet archived, from the R2 watermark on, until `maxBytes` of rows, before
   * `beforeSeq` (deterministic: a retry reads at least the same chunks).
   */
  nextArchiveBatch(maxBytes: number, maxChunks: number, beforeSeq = Number.MAX_SAFE_INTEGER): ArchiveBatch {
    const batch: ArchiveBatch = { from: this.marks.r2, next: this.marks.r2, rows: [] };
    let bytes = 0;
    for (const c of this.sql.exec<{ seq: number; rows: string }>("SELECT seq, rows FROM chunks WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?", this.marks.r2, beforeSeq, maxChunks)) {
      if (batch.rows.length === 0) batch.from = c.seq;
      batch.rows.push(...(JSON.parse(c.rows) as unknown[][]));
      batch.next = c.seq + 1;
      bytes += c.rows.length;
      if (bytes >= maxBytes) break;
    }
    return batch;
  }

  /** R2 took every chunk before `next`. */
  markArchived(next: number, at: number): void {
    if (next > this.marks.r2) this.saveMarks({ ...this.marks, r2: next }, at);
  }

  /** Chunks before this seq were taken by D1 (and R2 when it counts). */
  private takenCut(marks: Marks): number {
    return this.archived ? Math.min(marks.d1.seq, marks.r2) : marks.d1.seq;
  }

  /**
   * Deletes the chunks D1 and R2 (when archived) both took at least the dedup window ago; returns
   * their counts (to fold into `counters` in the same transaction) and their keys (to `forget`
   * once it committed).
   */
  prune(now: number): { counts: Counts; keys: string[] } {
    const cut = (this.marks.taken ?? []).filter(([at]) => at <= now - DEDUP_WINDOW_MS).reduce((max, [, seq]) => Math.max(max, seq), 0);
    const counts: Counts = {};
    const keys: string[] = [];
    if (cut === 0) return { counts, keys };
    for (const c of this.sql.exec<{ rows: string; skipped: string | null; counts: string | null }>("SELECT rows, skipped, counts FROM chunks WHERE seq < ?", cut)) {
      for (const row of JSON.parse(c.rows) as unknown[][]) keys.push(String(row[ROW_KEY]));
      if (c.skipped) keys.push(...(JSON.parse(c.skipped) as string[]));
      if (c.counts) addCountsInto(counts, JSON.parse(c.counts) as Counts);
    }
    this.sql.exec("DELETE FROM chunks WHERE seq < ?", cut);
    return { counts, keys };
  }

  /** After a prune committed: the keys of its chunks are no longer duplicates. */
  forget(keys: readonly string[]): void {
    for (const key of keys) this.keys.delete(key);
  }

  /** Chunks held now (tests and stats). */
  chunks(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM chunks").one().n;
  }

  private resetNextSeq(): void {
    const max = this.sql.exec<{ seq: number | null }>("SELECT max(seq) AS seq FROM chunks").one().seq ?? 0;
    this.nextSeq = Math.max(max + 1, this.marks.d1.seq, this.marks.r2, 1);
  }

  private saveMarks(next: Marks, at: number): void {
    const marks: Marks = { ...next, taken: [...(next.taken ?? [])] };
    const cut = this.takenCut(marks);
    const taken = marks.taken ?? [];
    const last = taken[taken.length - 1];
    if (cut > (last?.[1] ?? 0)) {
      if (last && at - last[0] < TAKEN_GRAIN_MS) taken[taken.length - 1] = [Math.max(at, last[0]), cut];
      else taken.push([at, cut]);
    }
    // Entries past the window: only the newest of them still decides what may go.
    const old = taken.filter(([t]) => t <= at - DEDUP_WINDOW_MS).length;
    if (old > 1) taken.splice(0, old - 1);
    marks.taken = taken;
    const text = JSON.stringify(marks);
    this.sql.exec(UPSERT_META, "buffer_marks", text, text);
    this.marks = marks;
  }

  /**
   * Version 2 kept one row per record in `records`: its flushed rows (still in the dedup window)
   * become chunks behind both watermarks (they are in D1; retention archives rows of that age),
   * its unflushed rows chunks ahead of them, then the table goes.
   */
  private migrateRecordsTable(now: number): void {
    if (this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'records'").toArray().length === 0) return;
    const rows = this.sql.exec<{ body: string; flushed_at: number | null }>("SELECT body, flushed_at FROM records ORDER BY ts").toArray();
    const flushed = rows.filter((r) => r.flushed_at !== null);
    const newestFlush = flushed.reduce((max, r) => Math.max(max, r.flushed_at ?? 0), 0);
    this.resetNextSeq();
    if (flushed.length > 0) this.insertChunks(flushed.map((r) => r.body), [], {}, newestFlush);
    this.saveMarks({ d1: { seq: this.nextSeq, offset: 0 }, r2: this.nextSeq }, newestFlush || now);
    const unflushed = rows.filter((r) => r.flushed_at === null).map((r) => r.body);
    if (unflushed.length > 0) this.insertChunks(unflushed, [], {}, now);
    this.sql.exec("DROP TABLE records");
  }
}
