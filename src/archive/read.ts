/**
 * Reading the archive back: the objects of one service listed day by day (one R2 list per day,
 * keys come back in hour order), each object streamed through gunzip line by line, so neither an
 * object nor a result is ever held whole. Used by `GET /v1/archive/logs` (bounded per call, with
 * a cursor) and by re-evaluation from the archive.
 */
import { fromStoredLine, type RawLog } from "../retention/archive";
import {
  compareKeys,
  dayPrefix,
  daysBetween,
  hourOverlaps,
  keyDay,
  keyHour,
  matchesLogFilters,
  type ArchivePosition,
  type ArchiveQuery,
} from "./query";

/** R2 list calls per read call at most (a day takes one, or more past 1,000 objects). */
export const MAX_LISTS_PER_CALL = 40;

/** One hour object of a listing. */
export interface HourObject {
  key: string;
  hourStart: number;
  size: number;
}

/** The hour objects of one service and UTC day, in read order (`compareKeys`: hours ascending, then parts as written). */
export async function listDay(
  bucket: R2Bucket,
  service: string,
  dayStart: number,
): Promise<{ objects: HourObject[]; lists: number }> {
  const objects: HourObject[] = [];
  let lists = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: dayPrefix(service, dayStart), cursor, limit: 1000 });
    lists++;
    for (const o of page.objects) {
      const hourStart = keyHour(o.key, service);
      if (hourStart !== null) objects.push({ key: o.key, hourStart, size: o.size });
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined);
  objects.sort((a, b) => compareKeys(a.key, b.key, service));
  return { objects, lists };
}

/** The lines of a gzip NDJSON body, decoded as they arrive. */
export async function* gunzipLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const text = body.pipeThrough(new DecompressionStream("gzip")).pipeThrough(new TextDecoderStream());
  let rest = "";
  for await (const chunk of text) {
    rest += chunk;
    let end = rest.indexOf("\n");
    while (end >= 0) {
      yield rest.slice(0, end);
      rest = rest.slice(end + 1);
      end = rest.indexOf("\n");
    }
  }
  if (rest.length > 0) yield rest;
}

/** A line parsed as a stored row, or null (not JSON, or not a row). */
export function parseLine(line: string): RawLog | null {
  try {
    return fromStoredLine(JSON.parse(line));
  } catch {
    return null;
  }
}

export interface ScanSummary {
  /** Where the next call goes on; null when the range is read to its end. */
  next: ArchivePosition | null;
  records: number;
  objects_read: number;
  /** Compressed bytes of the objects opened. */
  bytes_read: number;
  lists: number;
  /** Lines that were not stored rows (skipped). */
  skipped_lines: number;
  /** The bound that ended this call early, if one did. */
  stopped_by: "limit" | "max_objects" | "max_bytes" | "max_lists" | null;
}

/**
 * Reads the records of `q.service` in [q.from, to] that pass the filters, oldest hour first (within
 * an hour: objects in the order written, lines in stored order), from `start` on, calling `emit` for each,
 * until the range ends or a bound of the query (records, objects, bytes) or MAX_LISTS_PER_CALL stops it.
 */
export async function scanArchive(
  bucket: R2Bucket,
  q: ArchiveQuery,
  to: number,
  start: ArchivePosition | null,
  emit: (row: RawLog) => Promise<void>,
): Promise<ScanSummary> {
  const s: ScanSummary = {
    next: null,
    records: 0,
    objects_read: 0,
    bytes_read: 0,
    lists: 0,
    skipped_lines: 0,
    stopped_by: null,
  };
  const startDay = start ? (keyDay(start.key, q.service) ?? q.from) : q.from;
  for (const day of daysBetween(Math.max(q.from, startDay), to)) {
    if (s.lists >= MAX_LISTS_PER_CALL) {
      s.next = { key: dayPrefix(q.service, day), line: 0 };
      s.stopped_by = "max_lists";
      return s;
    }
    const { objects, lists } = await listDay(bucket, q.service, day);
    s.lists += lists;
    for (const o of objects) {
      if (!hourOverlaps(o.hourStart, q.from, to) || (start && compareKeys(o.key, start.key, q.service) < 0)) continue;
      const skip = start && o.key === start.key ? start.line : 0;
      const over =
        s.objects_read >= q.max_objects
          ? "max_objects"
          : s.objects_read > 0 && s.bytes_read + o.size > q.max_bytes
            ? "max_bytes"
            : null;
      if (over) {
        s.next = { key: o.key, line: skip };
        s.stopped_by = over;
        return s;
      }
      const object = await bucket.get(o.key);
      if (!object) continue; // deleted by retention since the listing
      s.objects_read++;
      s.bytes_read += object.size;
      let line = 0;
      for await (const text of gunzipLines(object.body as ReadableStream<Uint8Array>)) {
        line++;
        if (line <= skip) continue;
        const row = parseLine(text);
        if (!row) {
          if (text.trim() !== "") s.skipped_lines++;
          continue;
        }
        if (!matchesLogFilters(row, q, to)) continue;
        await emit(row);
        s.records++;
        if (s.records >= q.limit) {
          s.next = { key: o.key, line };
          s.stopped_by = "limit";
          return s; // leaving the loop cancels the rest of the body
        }
      }
    }
  }
  return s;
}
