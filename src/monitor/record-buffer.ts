/**
 * The endpoint object's buffer of raw records on their way to D1 and the R2 archive.
 *
 * Durable Object SQLite bills every row written, so the buffer writes one row per hand-off, not
 * per record: a chunk holding the JSON array of the hand-off's fresh rows and its counter
 * increments. Flush progress is two watermarks in one `meta` row: how far D1 took the chunks
 * (a chunk seq and an offset in it, since a D1 batch may end mid-chunk) and how far R2 did (whole
 * chunks). The same row keeps when the chunks below a seq were taken by both (a few entries,
 * coalesced per minute towards the later time), so a chunk stays for the dedup window after both
 * took it, as a record did before; then it is pruned with its neighbours: its counts folded into
 * `counters` in the same transaction, and its row kept as a spare (everything below the `pruned`
 * mark is dead) that a later hand-off overwrites. Overwriting a spare is one row written, where a
 * delete now and an insert later were two; spares beyond what the buffer needs are deleted.
 *
 * The chunks also carry what the endpoint's windows need of every record (the stored rows have
 * it; a record the proxy sampled out keeps a short window tuple in `skipped`), so that the
 * windows can be write-behind: the object persists them now and then with a mark of the chunks
 * they hold (`windows_absorbed`), and on wake adds the chunks after the mark again. A chunk is not
 * pruned before the persisted windows hold it.
 *
 * Deduplication of retried hand-offs reads an in-memory set of the keys of the retained chunks,
 * rebuilt from them when the object wakes. The set and the pending counts change only after the
 * transaction that wrote the chunk committed (`remember`), so a rolled-back hand-off is not
 * remembered. Call the writing methods inside a transaction.
 */
import { MAX_BATCH_BYTES, MAX_BATCH_RECORDS, ROW_KEY, toLogRow, utf8Bytes } from "../db/log-writer";
import type { LogRecord } from "../ingest/record";
import type { WindowRecord } from "./minute-counts";
import type { Batch, PoisonedRow } from "./flush";
import { UPSERT_META } from "./buffer-sql";
import { BufferMarksSchema, parseStored } from "./stored-json";
import { cappedWrittenAt, takenBefore, withTaken, type Marks, type Unsaved } from "./buffer-marks";
import {
  addCountsInto,
  skippedKey,
  skippedTuple,
  windowRecordOfRow,
  windowRecordOfTuple,
  type Counts,
  type SkippedTuple,
} from "./chunk-codec";

export { addCountsInto, MAX_COUNTERS, type Counts } from "./chunk-codec";

/** How long flushed keys are remembered to recognise a retried hand-off. */
export const DEDUP_WINDOW_MS = 15 * 60 * 1000;
/** Largest `rows` text of one chunk (Durable Object SQLite caps a value at 2 MB). */
const MAX_CHUNK_BYTES = 1536 * 1024;

/** Where the next row to flush is: chunk `seq` (or the first after it), row `offset` of that chunk. */
export interface Position {
  seq: number;
  offset: number;
}

/** Spare rows kept for reuse at least (more while the buffer holds more live chunks). */
const SPARE_ROWS_MIN = 64;

/**
 * Which chunks the persisted windows hold: every chunk before `below`, and those of `also` (added
 * after an older one still waiting for detection).
 */
export interface AbsorbedMark {
  below: number;
  also: number[];
}

/** A chunk's records as the windows take them, for a replay on wake. */
export interface WindowChunk {
  seq: number;
  addedAt: number;
  records: WindowRecord[];
}

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

export class RecordBuffer {
  /** Keys of the records in retained chunks (stored or sampled out). */
  private readonly keys = new Set<string>();
  private marks: Marks = { d1: { seq: 0, offset: 0 }, r2: 0 };
  /**
   * Whether `marks` moved since they were saved, and how urgently they must be. A replayable move
   * waits for the next save that happens anyway (the once-a-minute windows persist, the next R2
   * pass, a prune): a quiet endpoint's flush then writes no row of its own.
   */
  private unsaved: Unsaved = "none";
  /** Spare (pruned) rows in the table, reused before a new row is inserted. */
  private spares = 0;
  /**
   * Chunks from this seq on are held back from D1 and from new R2 passes (null: none): a
   * re-evaluation holds the hand-offs that arrive while it replays, and they must not reach D1 or
   * R2 before it ends (the replay would count them, and their release again).
   */
  holdFrom: number | null = null;
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
    if (saved) this.marks = parseStored(BufferMarksSchema, "buffer_marks", saved.value);
    this.migrateRecordsTable(now);
    this.resetNextSeq();
    const counts: Counts = {};
    this.keys.clear();
    this.spares = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM chunks WHERE seq < ?", this.live()).one().n;
    for (const c of this.sql.exec<{ rows: string; skipped: string | null; counts: string | null }>(
      "SELECT rows, skipped, counts FROM chunks WHERE seq >= ?",
      this.live(),
    )) {
      for (const row of JSON.parse(c.rows) as unknown[][]) this.keys.add(String(row[ROW_KEY]));
      if (c.skipped) for (const e of JSON.parse(c.skipped) as (string | unknown[])[]) this.keys.add(skippedKey(e));
      if (c.counts) addCountsInto(counts, JSON.parse(c.counts) as Counts);
    }
    return counts;
  }

  /** The first seq of a live chunk (rows below it are spares). */
  private live(): number {
    return this.marks.pruned ?? 0;
  }

  /** The seq the next chunk gets. */
  next(): number {
    return this.nextSeq;
  }

  /** The seqs of the chunks from `from` on. */
  seqsFrom(from: number): number[] {
    return this.sql
      .exec<{ seq: number }>("SELECT seq FROM chunks WHERE seq >= ? ORDER BY seq", Math.max(from, this.live()))
      .toArray()
      .map((r) => r.seq);
  }

  /** The records of the chunks the persisted windows lack (from `mark.below` on, except `mark.also`), oldest chunk first. */
  windowChunks(mark: AbsorbedMark): WindowChunk[] {
    const also = new Set(mark.also);
    const out: WindowChunk[] = [];
    for (const c of this.sql.exec<{ seq: number; added_at: number; rows: string; skipped: string | null }>(
      "SELECT seq, added_at, rows, skipped FROM chunks WHERE seq >= ? ORDER BY seq",
      Math.max(mark.below, this.live()),
    )) {
      if (also.has(c.seq)) continue;
      const records = (JSON.parse(c.rows) as unknown[][]).map(windowRecordOfRow);
      // Bare keys (chunks of an older version) cannot be replayed; tuples can.
      if (c.skipped)
        for (const e of JSON.parse(c.skipped) as (string | unknown[])[])
          if (typeof e !== "string") records.push(windowRecordOfTuple(e));
      out.push({ seq: c.seq, addedAt: c.added_at, records });
    }
    return out;
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

  /**
   * Stores one hand-off as one chunk row (more only past MAX_CHUNK_BYTES); sampled-out records are
   * kept as their key and window fields. Returns the seqs written.
   */
  append(fresh: readonly LogRecord[], counts: Counts, now: number): number[] {
    const bodies = fresh.filter((r) => !r.sampled_out).map((r) => JSON.stringify(toLogRow(r)));
    const skipped = fresh.filter((r) => r.sampled_out).map(skippedTuple);
    const first = this.nextSeq;
    this.insertChunks(bodies, skipped, counts, now);
    return Array.from({ length: this.nextSeq - first }, (_, i) => first + i);
  }

  /** After the chunk committed: remembers its keys for deduplication. */
  remember(fresh: readonly LogRecord[]): void {
    for (const r of fresh) this.keys.add(r.key);
  }

  private insertChunks(
    bodies: readonly string[],
    skipped: readonly (string | SkippedTuple)[],
    counts: Counts,
    now: number,
  ): void {
    let first = true;
    let start = 0;
    while (first || start < bodies.length) {
      let end = start;
      let bytes = 2;
      while (end < bodies.length && (end === start || bytes + utf8Bytes(bodies[end] ?? "") + 1 <= MAX_CHUNK_BYTES))
        bytes += utf8Bytes(bodies[end++] ?? "") + 1;
      const values = [
        `[${bodies.slice(start, end).join(",")}]`,
        end - start,
        now,
        first && skipped.length > 0 ? JSON.stringify(skipped) : null,
        first && Object.keys(counts).length > 0 ? JSON.stringify(counts) : null,
      ];
      const seq = this.nextSeq++;
      // A spare row is overwritten (its seq changes): one row written, and no delete billed for it.
      const reused = this.spares > 0 && this.reuseSpare(seq, values);
      if (reused) this.spares--;
      else {
        this.spares = 0;
        this.sql.exec(
          "INSERT INTO chunks (seq, rows, n, added_at, skipped, counts) VALUES (?, ?, ?, ?, ?, ?)",
          seq,
          ...values,
        );
      }
      first = false;
      start = end;
    }
  }

  /** Overwrites the oldest spare row with chunk `seq`; false when there was none. */
  private reuseSpare(seq: number, values: readonly unknown[]): boolean {
    const cursor = this.sql.exec(
      "UPDATE chunks SET seq = ?, rows = ?, n = ?, added_at = ?, skipped = ?, counts = ? WHERE seq = (SELECT min(seq) FROM chunks WHERE seq < ?)",
      seq,
      ...values,
      this.live(),
    );
    cursor.toArray();
    return cursor.rowsWritten > 0;
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
    // Spares are below `live()`: a watermark behind it (R2 bound after the buffer pruned without it) must not count them.
    return this.sql
      .exec<{ n: number }>("SELECT total(n) AS n FROM chunks WHERE seq >= ?", Math.max(seq, this.live()))
      .one().n;
  }

  private offsetIn(p: Position): number {
    return p.offset > 0 && this.sql.exec("SELECT 1 FROM chunks WHERE seq = ?", p.seq).toArray().length > 0
      ? p.offset
      : 0;
  }

  /** The seq of the first chunk added at or after `at` (chunks before it were added before `at`), or null when none. */
  firstSeqAddedFrom(at: number): number | null {
    return this.sql
      .exec<{ seq: number | null }>(
        "SELECT min(seq) AS seq FROM chunks WHERE seq >= ? AND added_at >= ?",
        this.live(),
        at,
      )
      .one().seq;
  }

  /** The oldest rows not yet in D1, within D1's batch limits (a batch may end mid-chunk), from chunks before `beforeSeq`. */
  nextBatch(beforeSeq = Number.MAX_SAFE_INTEGER): BufferBatch {
    beforeSeq = Math.min(beforeSeq, this.holdFrom ?? beforeSeq);
    const batch: BufferBatch = { keys: [], bodies: [], spans: [], end: this.marks.d1 };
    let bytes = 0;
    const chunks = this.sql.exec<{ seq: number; rows: string; n: number }>(
      "SELECT seq, rows, n FROM chunks WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?",
      Math.max(this.marks.d1.seq, this.live()),
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

  /**
   * D1 took the batch up to `to`, `flushed` rows of it (rows `poisoned` refused on their own go to
   * the quarantine, and then the marks are saved with them). In memory until `save` otherwise.
   */
  markFlushed(to: Position, poisoned: readonly PoisonedRow[], at: number, flushed = 0, replayable = false): void {
    for (const p of poisoned) {
      this.sql.exec(
        "INSERT OR REPLACE INTO quarantine (record_key, body, error, quarantined_at) VALUES (?, ?, ?, ?)",
        p.key,
        p.body,
        p.error,
        at,
      );
    }
    const moved = to.seq !== this.marks.d1.seq || to.offset !== this.marks.d1.offset;
    if (!moved && flushed === 0) return;
    this.marks = {
      ...this.marks,
      d1: to,
      flushed: (this.marks.flushed ?? 0) + flushed,
      flushed_at: flushed > 0 ? at : this.marks.flushed_at,
    };
    this.moved(replayable && poisoned.length === 0 ? "replayable" : "must");
    if (poisoned.length > 0) this.save(at);
  }

  private moved(how: Exclude<Unsaved, "none">): void {
    if (this.unsaved !== "must") this.unsaved = how;
  }

  /** Saves the marks when they moved (one row written). */
  save(at: number): void {
    if (this.unsaved !== "none") this.saveMarks(this.marks, at);
  }

  /** Saves the marks only when losing them would not be a mere re-send (see `Unsaved`). */
  saveRequired(at: number): void {
    if (this.unsaved === "must") this.saveMarks(this.marks, at);
  }

  /** The counts kept with the marks (`flushed`, `archived`), for the object's counters. */
  carried(): Counts {
    return { flushed: this.marks.flushed ?? 0, archived: this.marks.archived ?? 0 };
  }

  /** Hours flushed at the D1 cap (saved with the flush's marks, so an eviction does not forget them). */
  addCappedHours(hours: readonly number[]): void {
    const known = new Set(this.marks.capped ?? []);
    const fresh = hours.filter((h) => !known.has(h));
    if (fresh.length === 0) return;
    this.marks = { ...this.marks, capped: [...known, ...fresh] };
    this.moved("must");
  }

  /** Hours flushed at the D1 cap still waiting for their summary rows. */
  cappedHours(): number[] {
    return [...(this.marks.capped ?? [])];
  }

  /** Their summary rows are written at `now`: moved to `capped_written` (saved with the next marks). */
  clearCappedHours(hours: readonly number[], now: number): void {
    this.marks = cappedWrittenAt(this.marks, hours, now);
    this.moved("must");
  }

  /** Hours among `hours` whose summary row the object wrote (a flush of raw rows of them must write it again). */
  cappedWritten(hours: readonly number[]): number[] {
    const written = new Set(this.marks.capped_written ?? []);
    return hours.filter((h) => written.has(h));
  }

  /** Whether any hour's summary row was written by the object (so flushes look at their hours). */
  hasCappedWritten(): boolean {
    return (this.marks.capped_written?.length ?? 0) > 0;
  }

  /** When D1 last took a batch from this buffer (null: not since the marks kept it). */
  lastFlushAt(): number | null {
    return this.marks.flushed_at ?? null;
  }

  /**
   * Whole chunks not yet archived, from the R2 watermark on, until `maxBytes` of rows, before
   * `beforeSeq`; a pass that did not finish (its range is saved) is read again exactly, whatever
   * the limits are now. The range of a new pass is saved (with the marks) before it returns.
   */
  nextArchiveBatch(maxBytes: number, maxChunks: number, beforeSeq = Number.MAX_SAFE_INTEGER): ArchiveBatch {
    const start = Math.max(this.marks.r2, this.live());
    const retry = this.marks.r2_pass && this.marks.r2_pass[1] > start ? this.marks.r2_pass[1] : null;
    beforeSeq = Math.min(beforeSeq, this.holdFrom ?? beforeSeq);
    const batch: ArchiveBatch = { from: this.marks.r2, next: this.marks.r2, rows: [] };
    let bytes = 0;
    const chunks = this.sql.exec<{ seq: number; rows: string }>(
      "SELECT seq, rows FROM chunks WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?",
      start,
      retry ?? beforeSeq,
      retry === null ? maxChunks : Number.MAX_SAFE_INTEGER,
    );
    for (const c of chunks) {
      if (batch.rows.length === 0) batch.from = c.seq;
      batch.rows.push(...(JSON.parse(c.rows) as unknown[][]));
      batch.next = c.seq + 1;
      bytes += c.rows.length;
      if (retry === null && bytes >= maxBytes) break;
    }
    if (batch.next > batch.from && retry === null) {
      // Saved before the puts: a retry must read exactly this range.
      this.marks = { ...this.marks, r2_pass: [batch.from, batch.next] };
      this.moved("must");
    }
    if (batch.next > batch.from) this.save(Date.now());
    return batch;
  }

  /** R2 took every chunk before `next`, `archived` rows (in memory until a save: a lost mark means the saved pass is retried). */
  markArchived(next: number, archived = 0): void {
    if (next <= this.marks.r2 && archived === 0) return;
    const r2 = Math.max(next, this.marks.r2);
    const pass = this.marks.r2_pass && this.marks.r2_pass[1] > r2 ? this.marks.r2_pass : undefined;
    this.marks = { ...this.marks, r2, archived: (this.marks.archived ?? 0) + archived, r2_pass: pass };
    this.moved("replayable");
  }

  /** Chunks before this seq were taken by D1 (and R2 when it counts). */
  private takenCut(marks: Marks): number {
    return this.archived ? Math.min(marks.d1.seq, marks.r2) : marks.d1.seq;
  }

  /**
   * Prunes the chunks D1 and R2 (when archived) both took at least the dedup window ago; returns
   * their counts (to fold into `counters` in the same transaction) and their keys (to `forget`
   * once it committed).
   */
  prune(now: number, keepFrom = Number.MAX_SAFE_INTEGER): { counts: Counts; keys: string[]; commit: () => void } {
    const taken = takenBefore(this.marks, now, DEDUP_WINDOW_MS);
    // Chunks the persisted windows do not hold yet stay (a wake replays them).
    const cut = Math.min(taken, keepFrom);
    const counts: Counts = {};
    const keys: string[] = [];
    if (cut <= this.live()) return { counts, keys, commit: () => undefined };
    let pruned = 0;
    for (const c of this.sql.exec<{ rows: string; skipped: string | null; counts: string | null }>(
      "SELECT rows, skipped, counts FROM chunks WHERE seq >= ? AND seq < ?",
      this.live(),
      cut,
    )) {
      pruned++;
      for (const row of JSON.parse(c.rows) as unknown[][]) keys.push(String(row[ROW_KEY]));
      if (c.skipped) keys.push(...(JSON.parse(c.skipped) as (string | unknown[])[]).map(skippedKey));
      if (c.counts) addCountsInto(counts, JSON.parse(c.counts) as Counts);
    }
    // The pruned rows become spares: the mark moves (one row), nothing is deleted...
    const marks = this.writeMarks({ ...this.marks, pruned: cut }, now);
    let spares = this.spares + pruned;
    // ...unless there are more spares than the buffer will want: as many as it holds live, at least SPARE_ROWS_MIN.
    const live = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM chunks WHERE seq >= ?", cut).one().n;
    const excess = spares - Math.max(SPARE_ROWS_MIN, live);
    if (excess > 0) {
      this.sql.exec(
        "DELETE FROM chunks WHERE seq IN (SELECT seq FROM chunks WHERE seq < ? ORDER BY seq LIMIT ?)",
        cut,
        excess,
      );
      spares -= excess;
    }
    // Memory follows only once the transaction committed (a rollback leaves it as it was).
    return {
      counts,
      keys,
      commit: () => {
        this.marks = marks;
        this.unsaved = "none";
        this.spares = spares;
      },
    };
  }

  /** After a prune committed: the keys of its chunks are no longer duplicates. */
  forget(keys: readonly string[]): void {
    for (const key of keys) this.keys.delete(key);
  }

  /** Chunks held now (tests and stats). */
  chunks(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM chunks WHERE seq >= ?", this.live()).one().n;
  }

  private resetNextSeq(): void {
    const max = this.sql.exec<{ seq: number | null }>("SELECT max(seq) AS seq FROM chunks").one().seq ?? 0;
    this.nextSeq = Math.max(max + 1, this.marks.d1.seq, this.marks.r2, 1);
  }

  private saveMarks(next: Marks, at: number): void {
    this.marks = this.writeMarks(next, at);
    this.unsaved = "none";
  }

  /** Writes `next` (its `taken` list brought up to date at `at`) and returns what was written; memory is the caller's. */
  private writeMarks(next: Marks, at: number): Marks {
    // Stamped no earlier than now: a mark moved during the caller's I/O was taken after its `at`.
    const marks = withTaken(next, this.takenCut(next), Math.max(at, Date.now()), DEDUP_WINDOW_MS);
    const text = JSON.stringify(marks);
    this.sql.exec(UPSERT_META, "buffer_marks", text, text);
    return marks;
  }

  /**
   * Version 2 kept one row per record in `records`: its flushed rows (still in the dedup window)
   * become chunks behind both watermarks (they are in D1; retention archives rows of that age),
   * its unflushed rows chunks ahead of them, then the table goes.
   */
  private migrateRecordsTable(now: number): void {
    if (this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'records'").toArray().length === 0)
      return;
    const rows = this.sql
      .exec<{ body: string; flushed_at: number | null }>("SELECT body, flushed_at FROM records ORDER BY ts")
      .toArray();
    const flushed = rows.filter((r) => r.flushed_at !== null);
    const newestFlush = flushed.reduce((max, r) => Math.max(max, r.flushed_at ?? 0), 0);
    this.resetNextSeq();
    if (flushed.length > 0)
      this.insertChunks(
        flushed.map((r) => r.body),
        [],
        {},
        newestFlush,
      );
    this.saveMarks({ d1: { seq: this.nextSeq, offset: 0 }, r2: this.nextSeq }, newestFlush || now);
    const unflushed = rows.filter((r) => r.flushed_at === null).map((r) => r.body);
    if (unflushed.length > 0) this.insertChunks(unflushed, [], {}, now);
    this.sql.exec("DROP TABLE records");
  }
}
