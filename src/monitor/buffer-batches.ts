/**
 * How the endpoint buffer's chunks are cut into what D1 and R2 take, and how a hand-off is cut
 * into chunks: pure, over chunk rows already read (record-buffer.ts reads them and moves the
 * watermarks).
 */
import { MAX_BATCH_BYTES, MAX_BATCH_RECORDS, ROW_KEY, utf8Bytes } from "../db/log-writer";
import type { Batch } from "./flush";

/** Where the next row to flush is: chunk `seq` (or the first after it), row `offset` of that chunk. */
export interface Position {
  seq: number;
  offset: number;
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

/** A chunk as the batches read it: its seq, its rows (a JSON array of positional rows) and their number. */
export interface ChunkRows {
  seq: number;
  rows: string;
  n: number;
}

/**
 * The oldest rows of `chunks` (oldest first, from the D1 watermark `mark` on) within D1's batch
 * limits; a batch may end mid-chunk. Reads no further chunk once the batch is full.
 */
export function d1Batch(chunks: Iterable<ChunkRows>, mark: Position): BufferBatch {
  const batch: BufferBatch = { keys: [], bodies: [], spans: [], end: mark };
  let bytes = 0;
  for (const c of chunks) {
    const from = c.seq === mark.seq ? mark.offset : 0;
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
export function positionAfter(batch: BufferBatch, count: number): Position {
  let left = count;
  for (const s of batch.spans) {
    if (left < s.count) return { seq: s.seq, offset: s.from + left };
    left -= s.count;
  }
  return batch.end;
}

/**
 * Whole chunks of `chunks` (oldest first) for the archive, from the R2 watermark `r2` on, until
 * `maxBytes` of rows (null: every chunk given, a retry of a saved pass).
 */
export function archiveBatch(chunks: Iterable<ChunkRows>, r2: number, maxBytes: number | null): ArchiveBatch {
  const batch: ArchiveBatch = { from: r2, next: r2, rows: [] };
  let bytes = 0;
  for (const c of chunks) {
    if (batch.rows.length === 0) batch.from = c.seq;
    batch.rows.push(...(JSON.parse(c.rows) as unknown[][]));
    batch.next = c.seq + 1;
    bytes += c.rows.length;
    if (maxBytes !== null && bytes >= maxBytes) break;
  }
  return batch;
}

/**
 * How a hand-off's row bodies are cut into chunks of at most `maxBytes` of JSON text (a body
 * larger than that gets a chunk of its own): [start, end) ranges of `bodies`, at least one (an
 * empty one for a hand-off of sampled-out records only).
 */
export function chunkRanges(bodies: readonly string[], maxBytes: number): [number, number][] {
  const ranges: [number, number][] = [];
  let start = 0;
  do {
    let end = start;
    let bytes = 2;
    while (end < bodies.length && (end === start || bytes + utf8Bytes(bodies[end] ?? "") + 1 <= maxBytes))
      bytes += utf8Bytes(bodies[end++] ?? "") + 1;
    ranges.push([start, end]);
    start = end;
  } while (start < bodies.length);
  return ranges;
}
