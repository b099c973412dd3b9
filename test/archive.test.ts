/**
 * The R2 archive read back: `GET /v1/archive/logs` over objects written by the real archive writer
 * (retention's `writeGroup`), with the filters of `GET /v1/logs` (checked against that route on the
 * same rows in D1), paging by cursor across objects, parts and hours, a missing hour, the object
 * and byte bounds, and bad input.
 */
import { env } from "cloudflare:workers";
import { asc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { beforeAll, describe, expect, it } from "vitest";
import { requestLogs } from "../src/db/schema";
import { writeLogBatch, type LogRow } from "../src/db/log-writer";
import { gzip, hourPrefix, writeGroup, type RawLog } from "../src/retention/archive";
import { pruneArchive, type ArchiveRetentionReport } from "../src/archive/retention";
import { prune } from "../src/retention/prune";
import { call, READ_KEY } from "./helpers";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 6, 14, 22, 0, 0); // hours 22, 23 of one day, (00 missing), 01 of the next
const HOURS = [T0, T0 + HOUR, T0 + 3 * HOUR];
const SERVICE = "arch-read";

type Line = Record<string, unknown>;
type Summary = {
  next_cursor: string | null;
  records: number;
  objects_read: number;
  bytes_read: number;
  skipped_lines: number;
  stopped_by: string | null;
};

let counter = 0;
function logRow(service: string, timestamp: number): LogRow {
  const i = counter++;
  const status = [200, 200, 201, 404, 503, 500, 200, 302][i % 8] ?? 200;
  return [
    `arch:${service}:${i}`,
    timestamp,
    timestamp + 5,
    service,
    i % 3 === 0 ? "POST" : "GET",
    i % 2 === 0 ? "/items/:id" : "/users",
    `/p/${i}`,
    status,
    5 + ((i * 37) % 400),
    null,
    10,
    i,
    status >= 500 ? (i % 2 ? "Upstream TIMEOUT" : "db down") : null,
    0,
    null,
    `req-${i}`,
    null,
    "curl/8",
    null,
    "eu",
    null,
    "ingest",
    0,
  ];
}

/** Rows of D1 for a service, in (timestamp, seq) order, as retention reads them. */
function storedRows(service: string): Promise<RawLog[]> {
  return drizzle(env.DB)
    .select()
    .from(requestLogs)
    .where(eq(requestLogs.service, service))
    .orderBy(asc(requestLogs.timestamp), asc(requestLogs.recordKey))
    .all();
}

/** Reads one call: the records and the summary line. */
async function read(
  query: string,
): Promise<{ status: number; records: Line[]; summary: Summary; contentType: string | null }> {
  const res = await call(`/v1/archive/logs?${query}`, { headers: { Authorization: `Bearer ${READ_KEY}` } });
  const text = await res.text();
  const lines = text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Line);
  const last = lines.pop() as Summary;
  return { status: res.status, records: lines, summary: last, contentType: res.headers.get("content-type") };
}

/** Every record of a query, following cursors; the summaries of each call. */
async function readAll(query: string): Promise<{ records: Line[]; calls: Summary[] }> {
  const records: Line[] = [];
  const calls: Summary[] = [];
  let cursor: string | null = null;
  do {
    const page = await read(cursor ? `${query}&cursor=${cursor}` : query);
    expect(page.status).toBe(200);
    records.push(...page.records);
    calls.push(page.summary);
    cursor = page.summary.next_cursor;
    expect(calls.length).toBeLessThan(200);
  } while (cursor !== null);
  return { records, calls };
}

let keys: string[] = [];
let rows: RawLog[] = [];

beforeAll(async () => {
  const data: LogRow[] = [];
  for (const hour of HOURS) for (let i = 0; i < 40; i++) data.push(logRow(SERVICE, hour + i * 60_000 + 17));
  await writeLogBatch(
    env.DB,
    data.map((r) => JSON.stringify(r)),
    T0,
  );
  rows = await storedRows(SERVICE);
  // Hour 22 in one object; hour 23 in two (the second becomes a part key); hour 01 in one.
  const inHour = (h: number) => rows.filter((r) => r.timestamp >= h && r.timestamp < h + HOUR);
  const h23 = inHour(HOURS[1] ?? 0);
  keys = [
    await writeGroup(env.ARCHIVE, { service: SERVICE, hourStart: T0, rows: inHour(T0) }),
    await writeGroup(env.ARCHIVE, { service: SERVICE, hourStart: T0 + HOUR, rows: h23.slice(0, 25) }),
    await writeGroup(env.ARCHIVE, { service: SERVICE, hourStart: T0 + HOUR, rows: h23.slice(25) }),
    await writeGroup(env.ARCHIVE, { service: SERVICE, hourStart: T0 + 3 * HOUR, rows: inHour(T0 + 3 * HOUR) }),
  ];
});

const RANGE = `service=${SERVICE}&from=${T0}&to=${T0 + 4 * HOUR}`;

describe("GET /v1/archive/logs", () => {
  it("wrote a part key for the second object of an hour", () => {
    expect(keys[1]).toBe(`${hourPrefix(SERVICE, T0 + HOUR)}.ndjson.gz`);
    expect(keys[2]).toMatch(/^raw\/arch-read\/2026\/07\/14\/23\.\d+\.ndjson\.gz$/);
  });

  it("streams every record once, oldest hour first, as NDJSON with a summary line, across pages", async () => {
    const one = await read(RANGE);
    expect(one.contentType).toContain("application/x-ndjson");
    expect(one.summary).toMatchObject({ next_cursor: null, records: 120, objects_read: 4, stopped_by: null });
    expect(one.records.map((r) => r.log_id)).toEqual(rows.map((r) => r.recordKey));
    expect(one.records[0]).toMatchObject({
      service: SERVICE,
      method: rows[0]?.method,
      route: rows[0]?.route,
      status: rows[0]?.status,
    });

    const paged = await readAll(`${RANGE}&limit=7`);
    expect(paged.records.map((r) => r.log_id)).toEqual(rows.map((r) => r.recordKey));
    expect(paged.calls.slice(0, -1).every((c) => c.records === 7 && c.stopped_by === "limit")).toBe(true);
  }, 30_000);

  it("applies the filters of GET /v1/logs (the same records as that route over the same rows)", async () => {
    const filters = [
      "status=503",
      "status=5xx",
      "status=2XX",
      "method=post",
      "route=/users",
      "min_latency_ms=200",
      "q=timeout",
      "q=DB%20DOWN",
      `from=${T0 + 30 * 60_000}&to=${T0 + HOUR + 10 * 60_000}`,
      "method=GET&route=/users&status=4xx",
    ];
    for (const f of filters) {
      const base = f.includes("from=") ? `service=${SERVICE}&${f}` : `${RANGE}&${f}`;
      const d1 = await call(`/v1/logs?${base}&limit=1000`, { headers: { Authorization: `Bearer ${READ_KEY}` } });
      const expected = (await d1.json<{ logs: Line[] }>()).logs.map((l) => l.log_id).sort();
      const { records } = await readAll(`${base}&limit=9`);
      expect(records.map((r) => r.log_id).sort(), f).toEqual(expected);
      expect(expected.length, f).toBeGreaterThan(0);
    }
  }, 30_000);

  it("bounds a call in objects and in bytes, and the cursor goes on across objects and hours", async () => {
    const byObject = await readAll(`${RANGE}&max_objects=1`);
    expect(byObject.records.map((r) => r.log_id)).toEqual(rows.map((r) => r.recordKey));
    expect(byObject.calls.map((c) => c.objects_read)).toEqual([1, 1, 1, 1]);
    expect(byObject.calls.slice(0, 3).every((c) => c.stopped_by === "max_objects")).toBe(true);

    const byBytes = await readAll(`${RANGE}&max_bytes=1`);
    expect(byBytes.records.length).toBe(120);
    expect(byBytes.calls.every((c) => c.objects_read === 1)).toBe(true);
    expect(byBytes.calls.slice(0, 3).every((c) => c.stopped_by === "max_bytes")).toBe(true);

    // Two objects' worth of bytes, never a third.
    const sizes = await Promise.all(keys.map(async (k) => (await env.ARCHIVE.head(k))?.size ?? 0));
    const two = (sizes[0] ?? 0) + (sizes[1] ?? 0);
    const first = await read(`${RANGE}&max_bytes=${two}`);
    expect(first.summary).toMatchObject({ objects_read: 2, bytes_read: two, stopped_by: "max_bytes" });
  }, 30_000);

  it("reads an hour's range only, and an empty range (a missing hour) ends with no records", async () => {
    const h01 = await readAll(`service=${SERVICE}&from=${T0 + 3 * HOUR}&to=${T0 + 4 * HOUR - 1}`);
    expect(h01.records.length).toBe(40);
    expect(h01.calls[0]?.objects_read).toBe(1);
    const missing = await read(`service=${SERVICE}&from=${T0 + 2 * HOUR}&to=${T0 + 3 * HOUR - 1}`);
    expect(missing.records).toEqual([]);
    expect(missing.summary).toMatchObject({ next_cursor: null, records: 0, objects_read: 0 });
    const unknown = await read(`service=arch-none&from=${T0}&to=${T0 + HOUR}`);
    expect(unknown.summary).toMatchObject({ next_cursor: null, records: 0 });
  });

  it("reads the weight, ignores unknown fields and skips lines that are not rows", async () => {
    const service = "arch-extra";
    const line = {
      seq: 1,
      record_key: "extra-1",
      timestamp: T0 + 5,
      received_at: T0 + 6,
      service,
      method: "GET",
      route: "/x",
      path: "/x",
      status: 500,
      latency_ms: 3,
      weight: 12.5,
    };
    const body = await gzip(`${JSON.stringify(line)}\nnot json\n{"a":1}\n`);
    await env.ARCHIVE.put(`${hourPrefix(service, T0)}.ndjson.gz`, body);
    const { records, summary } = await read(`service=${service}&from=${T0}&to=${T0 + HOUR}`);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ log_id: "extra-1", status: 500, error: null, weight: 12.5 });
    expect(records[0]).not.toHaveProperty("seq");
    expect(summary.skipped_lines).toBe(2);
  });

  it("answers bad input with the JSON error envelope", async () => {
    const bad = [
      "from=1",
      `service=${SERVICE}`,
      `${RANGE}&max_objects=0`,
      `${RANGE}&max_bytes=999999999`,
      `${RANGE}&status=600`,
      `service=${SERVICE}&from=${T0}&to=${T0 - 1}`,
      `${RANGE}&cursor=nope`,
      `service=${SERVICE}&from=-271821-04-20T00:00:00Z&to=${T0}`,
      `service=${SERVICE}&from=${T0}&to=99999999999999999`,
    ];
    const first = await read(`${RANGE}&limit=1`);
    const cursor = first.summary.next_cursor ?? "";
    bad.push(`service=other&from=${T0}&cursor=${cursor}`);
    for (const q of bad) {
      const res = await call(`/v1/archive/logs?${q}`, { headers: { Authorization: `Bearer ${READ_KEY}` } });
      expect(res.status, q).toBe(400);
      const body = await res.json<{ error: { code: string; message: string } }>();
      expect(body.error.code, q).toBe("invalid_request");
    }
  });
});

describe("archive retention (ARCHIVE_RETENTION_DAYS)", () => {
  const CUTOFF = Date.UTC(2025, 5, 10, 5, 0, 0);
  const NOW = CUTOFF + 90 * 24 * HOUR;
  const put = (key: string) => env.ARCHIVE.put(key, "x");
  const expiredA = [
    "raw/arch-ret-a/2025/06/08/23.ndjson.gz",
    "raw/arch-ret-a/2025/06/10/00.ndjson.gz",
    "raw/arch-ret-a/2025/06/10/04.ndjson.gz",
    "raw/arch-ret-a/2025/06/10/04.7.ndjson.gz",
  ];
  const keptA = [
    "raw/arch-ret-a/2025/06/10/05.ndjson.gz",
    "raw/arch-ret-a/2025/06/11/10.3.ndjson.gz",
    "raw/arch-ret-a/notes.txt",
  ];
  const expiredB = ["raw/arch-ret-b/2025/06/01/12.ndjson.gz"];
  const keptB = ["raw/arch-ret-b/2025/07/01/00.ndjson.gz"];

  async function left(service: string): Promise<string[]> {
    return (await env.ARCHIVE.list({ prefix: `raw/${service}/` })).objects.map((o) => o.key).sort();
  }

  it("the daily job deletes only objects whose hour ended before the cutoff, reports it, and is idempotent", async () => {
    for (const key of [...expiredA, ...keptA, ...expiredB, ...keptB]) await put(key);
    const first = await prune(env, { now: NOW, deadline: Date.now() + 60_000, cursor: null });
    const archive = (first.detail as { archive: ArchiveRetentionReport }).archive;
    expect(archive).toMatchObject({ cutoff: CUTOFF, deleted_objects: 5, finished: true, errors: [] });
    expect(await left("arch-ret-a")).toEqual([...keptA].sort());
    expect(await left("arch-ret-b")).toEqual(keptB);
    // The read tests' objects (2026) are inside retention.
    expect(await env.ARCHIVE.head(keys[0] ?? "")).not.toBeNull();

    const again = await prune(env, { now: NOW, deadline: Date.now() + 60_000, cursor: null });
    expect((again.detail as { archive: ArchiveRetentionReport }).archive).toMatchObject({
      deleted_objects: 0,
      finished: true,
    });
  });

  it("is bounded in R2 calls per run and carries on at the next run", async () => {
    for (const key of [...expiredA, ...expiredB]) await put(key);
    // Four services in the bucket; 3 calls: the service list, then one service's list and delete.
    const runs: ArchiveRetentionReport[] = [];
    for (let day = 0; day < 4; day++)
      runs.push(await pruneArchive(env.ARCHIVE, CUTOFF, NOW + day * 24 * HOUR, Date.now() + 60_000, 3));
    expect(runs.map((r) => [r.services, r.services_checked, r.finished])).toEqual(runs.map(() => [4, 1, false]));
    expect(runs.every((r) => r.calls <= 3)).toBe(true);
    expect(runs.reduce((n, r) => n + r.deleted_objects, 0)).toBe(5);
    expect((await pruneArchive(env.ARCHIVE, CUTOFF, NOW, Date.now() + 60_000)).finished).toBe(true);
    expect(await left("arch-ret-a")).toEqual([...keptA].sort());
    expect(await left("arch-ret-b")).toEqual(keptB);
  });
});
