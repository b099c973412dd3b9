/**
 * What the endpoint buffer reads back out of a stored chunk: the keys of its records (for
 * deduplication), its counter increments, and its records as the windows take them (for the
 * replay on wake). Pure; the chunk's text format is chunk-codec.ts's.
 */
import { ROW_KEY } from "../db/log-writer";
import { addCountsInto, skippedKey, windowRecordOfRow, windowRecordOfTuple, type Counts } from "./chunk-codec";
import type { WindowRecord } from "./minute-counts";

/** A chunk's stored contents: its rows (JSON array of positional rows), its sampled-out records and its counts. */
export interface ChunkContents {
  rows: string;
  skipped: string | null;
  counts: string | null;
}

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

/** The keys of a chunk's records, stored and sampled out. */
export function keysOfChunk(c: ChunkContents): string[] {
  const keys = (JSON.parse(c.rows) as unknown[][]).map((row) => String(row[ROW_KEY]));
  if (c.skipped) keys.push(...(JSON.parse(c.skipped) as (string | unknown[])[]).map(skippedKey));
  return keys;
}

/** Adds a chunk's counter increments into `counts`. */
export function addChunkCounts(counts: Counts, c: ChunkContents): void {
  if (c.counts) addCountsInto(counts, JSON.parse(c.counts) as Counts);
}

/** A chunk's records as the windows take them. */
export function windowChunkOf(c: { seq: number; added_at: number; rows: string; skipped: string | null }): WindowChunk {
  const records = (JSON.parse(c.rows) as unknown[][]).map(windowRecordOfRow);
  // Bare keys (chunks of an older version) cannot be replayed; tuples can.
  if (c.skipped)
    for (const e of JSON.parse(c.skipped) as (string | unknown[])[])
      if (typeof e !== "string") records.push(windowRecordOfTuple(e));
  return { seq: c.seq, addedAt: c.added_at, records };
}
