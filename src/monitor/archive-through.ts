/**
 * The archive write-through: the endpoint object's flush writes every buffered record to R2,
 * whether or not it gets a D1 row, in the layout the archive reader and retention already use
 * (gzip NDJSON, one stored row per line keyed by SQL column name, objects per service and UTC
 * hour under `raw/<service>/<YYYY>/<MM>/<DD>/<HH>`).
 *
 * A pass takes whole buffer chunks from the R2 watermark and writes one object per (service,
 * hour) among them, keyed by the endpoint object and the pass's first chunk seq:
 * `<HH>.<first seq>.<object id>.ndjson.gz`. A pass that is retried (R2 failed, or the object
 * was evicted between the puts and the watermark) starts at the same chunk and reads at least the
 * same chunks, so it overwrites each object it wrote before with a superset of its rows: no
 * record is archived twice, none is lost.
 */
import { LOG_COLUMNS, ROW_TIMESTAMP } from "../db/log-writer";
import { gzip, hourPrefix } from "../retention/archive";

const HOUR_MS = 3_600_000;
/** Rows (JSON text) per write-through pass before it stops at a chunk boundary. */
export const ARCHIVE_PASS_BYTES = 4 * 1024 * 1024;
/** Chunks per pass at most. */
export const ARCHIVE_PASS_CHUNKS = 2000;
/** Object marking when the write-through began (see retention: rows received before it are archived on prune). */
export const WRITE_THROUGH_MARKER = "meta/write-through-since";

const SERVICE = LOG_COLUMNS.indexOf("service");
// Columns an older buffered row lacks read as their D1 default.
const DEFAULTS: Partial<Record<(typeof LOG_COLUMNS)[number], unknown>> = { inconsistent: 0 };

/** The lines of one object: a service and UTC hour, in buffer order. */
export interface HourGroup {
  service: string;
  hourStart: number;
  lines: string[];
}

/** A positional row as an archive line (SQL column names, as retention writes them). */
export function archiveLine(row: readonly unknown[]): string {
  const line: Record<string, unknown> = {};
  LOG_COLUMNS.forEach((c, i) => (line[c] = row[i] ?? DEFAULTS[c] ?? null));
  return JSON.stringify(line);
}

/** Groups positional rows by (service, UTC hour of the event time), keeping their order. */
export function groupRows(rows: readonly (readonly unknown[])[]): HourGroup[] {
  const groups = new Map<string, HourGroup>();
  for (const row of rows) {
    const service = String(row[SERVICE]);
    const hourStart = Math.floor(Number(row[ROW_TIMESTAMP]) / HOUR_MS) * HOUR_MS;
    const id = `${service}\n${hourStart}`;
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { service, hourStart, lines: [] }));
    group.lines.push(archiveLine(row));
  }
  return [...groups.values()];
}

/** The key of a pass's object: deterministic in (service, hour, first chunk seq, endpoint object). */
export function writeThroughKey(service: string, hourStart: number, firstSeq: number, objectId: string): string {
  return `${hourPrefix(service, hourStart)}.${firstSeq}.${objectId}.ndjson.gz`;
}

/** Writes one pass's objects (overwriting a retried pass's); throws when a put fails. Returns objects and bytes put. */
export async function writeThrough(
  bucket: R2Bucket,
  rows: readonly (readonly unknown[])[],
  firstSeq: number,
  objectId: string,
): Promise<{ objects: number; bytes: number }> {
  const groups = groupRows(rows);
  const sizes = await Promise.all(
    groups.map(async (g) => {
      const body = await gzip(`${g.lines.join("\n")}\n`);
      await bucket.put(writeThroughKey(g.service, g.hourStart, firstSeq, objectId), body, {
        httpMetadata: { contentType: "application/gzip" },
        customMetadata: {
          service: g.service,
          hour_start: String(g.hourStart),
          rows: String(g.lines.length),
          first_seq: String(firstSeq),
        },
      });
      return body.byteLength;
    }),
  );
  return { objects: groups.length, bytes: sizes.reduce((s, n) => s + n, 0) };
}

/** Writes the write-through marker once (never overwritten): the time the archive began to get every record. */
export async function markWriteThrough(bucket: R2Bucket, now: number): Promise<void> {
  await bucket.put(WRITE_THROUGH_MARKER, String(now), {
    onlyIf: new Headers({ "If-None-Match": "*" }),
    customMetadata: { since: String(now) },
  });
}

/** When the write-through began (epoch ms), or null when it never did. */
export async function writeThroughSince(bucket: R2Bucket): Promise<number | null> {
  const object = await bucket.get(WRITE_THROUGH_MARKER);
  if (!object) return null;
  const since = Number(await object.text());
  return Number.isFinite(since) ? since : null;
}
