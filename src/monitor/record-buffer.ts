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
 *
 * The marks are kept (in memory, saved when they must be) by the base class, buffer-watermarks.ts,
 * with their pure steps in buffer-marks.ts; the SQL and the spare rows are chunk-table.ts's, the
 * cutting of chunks into batches buffer-batches.ts's and reading a chunk's contents
 * chunk-contents.ts's.
 */
import { MAX_BATCH_RECORDS, toLogRow } from "../db/log-writer";
import type { LogRecord } from "../ingest/record";
import { takenBefore } from "./buffer-marks";
import { BufferWatermarks, DEDUP_WINDOW_MS } from "./buffer-watermarks";
import {
  archiveBatch,
  chunkRanges,
  d1Batch,
  positionAfter,
  type ArchiveBatch,
  type BufferBatch,
  type Position,
} from "./buffer-batches";
import { skippedTuple, type Counts, type SkippedTuple } from "./chunk-codec";
import { addChunkCounts, keysOfChunk, windowChunkOf, type AbsorbedMark, type WindowChunk } from "./chunk-contents";
import { ChunkTable, type ChunkValues } from "./chunk-table";

/** Largest `rows` text of one chunk (Durable Object SQLite caps a value at 2 MB). */
const MAX_CHUNK_BYTES = 1536 * 1024;

export class RecordBuffer extends BufferWatermarks {
  /** Keys of the records in retained chunks (stored or sampled out). */
  private readonly keys = new Set<string>();
  /**
   * Chunks from this seq on are held back from D1 and from new R2 passes (null: none): a
   * re-evaluation holds the hand-offs that arrive while it replays, and they must not reach D1 or
   * R2 before it ends (the replay would count them, and their release again).
   */
  holdFrom: number | null = null;
  /** Seq of the next chunk: above every chunk and both watermarks, so a seq is never reused after a prune. */
  private nextSeq = 1;

  /** `archived`: chunks wait for the R2 watermark too (the archive is bound). */
  constructor(sql: SqlStorage, archived: boolean) {
    super(new ChunkTable(sql), archived);
  }

  /**
   * Loads the watermarks and the key set (on wake), migrating a version 2 `records` table into
   * chunks first; returns the counts of the retained chunks (not yet in `counters`).
   */
  load(now: number): Counts {
    this.loadMarks();
    this.migrateRecordsTable(now);
    this.resetNextSeq();
    const counts: Counts = {};
    this.keys.clear();
    this.table.loadSpares(this.live());
    for (const c of this.table.contents(this.live())) {
      for (const key of keysOfChunk(c)) this.keys.add(key);
      addChunkCounts(counts, c);
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
    return this.table.seqsFrom(Math.max(from, this.live()));
  }

  /** The records of the chunks the persisted windows lack (from `mark.below` on, except `mark.also`), oldest chunk first. */
  windowChunks(mark: AbsorbedMark): WindowChunk[] {
    const also = new Set(mark.also);
    const out: WindowChunk[] = [];
    for (const c of this.table.windowRows(Math.max(mark.below, this.live())))
      if (!also.has(c.seq)) out.push(windowChunkOf(c));
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
    chunkRanges(bodies, MAX_CHUNK_BYTES).forEach(([start, end], i) => {
      const values: ChunkValues = [
        `[${bodies.slice(start, end).join(",")}]`,
        end - start,
        now,
        i === 0 && skipped.length > 0 ? JSON.stringify(skipped) : null,
        i === 0 && Object.keys(counts).length > 0 ? JSON.stringify(counts) : null,
      ];
      this.table.write(this.nextSeq++, values, this.live());
    });
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
    return this.table.recordsFrom(Math.max(seq, this.live()));
  }

  private offsetIn(p: Position): number {
    return p.offset > 0 && this.table.has(p.seq) ? p.offset : 0;
  }

  /** The seq of the first chunk added at or after `at` (chunks before it were added before `at`), or null when none. */
  firstSeqAddedFrom(at: number): number | null {
    return this.table.firstAddedFrom(this.live(), at);
  }

  /** The oldest rows not yet in D1, within D1's batch limits (a batch may end mid-chunk), from chunks before `beforeSeq`. */
  nextBatch(beforeSeq = Number.MAX_SAFE_INTEGER): BufferBatch {
    beforeSeq = Math.min(beforeSeq, this.holdFrom ?? beforeSeq);
    const d1 = this.marks.d1;
    return d1Batch(this.table.rowsIn(Math.max(d1.seq, this.live()), beforeSeq, MAX_BATCH_RECORDS), d1);
  }

  /** Where the buffer stands after the first `count` rows of `batch`. */
  static positionAfter(batch: BufferBatch, count: number): Position {
    return positionAfter(batch, count);
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
    const chunks = this.table.rowsIn(start, retry ?? beforeSeq, retry === null ? maxChunks : Number.MAX_SAFE_INTEGER);
    const batch = archiveBatch(chunks, this.marks.r2, retry === null ? maxBytes : null);
    if (batch.next > batch.from && retry === null) {
      // Saved before the puts: a retry must read exactly this range.
      this.marks = { ...this.marks, r2_pass: [batch.from, batch.next] };
      this.moved("must");
    }
    if (batch.next > batch.from) this.save(Date.now());
    return batch;
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
    for (const c of this.table.contents(this.live(), cut)) {
      pruned++;
      keys.push(...keysOfChunk(c));
      addChunkCounts(counts, c);
    }
    // The pruned rows become spares: the mark moves (one row), nothing is deleted...
    const marks = this.writeMarks({ ...this.marks, pruned: cut }, now);
    // ...unless there are more spares than the buffer will want.
    const spares = this.table.trimSpares(pruned, cut);
    // Memory follows only once the transaction committed (a rollback leaves it as it was).
    return {
      counts,
      keys,
      commit: () => {
        this.marks = marks;
        this.unsaved = "none";
        this.table.commitSpares(spares);
      },
    };
  }

  /** After a prune committed: the keys of its chunks are no longer duplicates. */
  forget(keys: readonly string[]): void {
    for (const key of keys) this.keys.delete(key);
  }

  /** Chunks held now (tests and stats). */
  chunks(): number {
    return this.table.countFrom(this.live());
  }

  private resetNextSeq(): void {
    this.nextSeq = Math.max(this.table.maxSeq() + 1, this.marks.d1.seq, this.marks.r2, 1);
  }

  /**
   * Version 2 kept one row per record in `records`: its flushed rows (still in the dedup window)
   * become chunks behind both watermarks (they are in D1; retention archives rows of that age),
   * its unflushed rows chunks ahead of them, then the table goes.
   */
  private migrateRecordsTable(now: number): void {
    const rows = this.table.legacyRecords();
    if (rows === null) return;
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
    this.table.dropLegacy();
  }
}
