/**
 * Retention: boundaries of each part, the R2 archive (content, parts, never overwriting), no row
 * deleted whose archive write failed, and chunking under a deadline. Old rows are written to D1
 * directly (ingest rejects them); the clock of a run is a fixed `now`.
 */
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { beforeEach, describe, expect, it } from "vitest";
import { incidents, summaries } from "../src/db/schema";
import { LOG_COLUMNS, writeLogBatch, type LogRow } from "../src/db/log-writer";
import { hourPrefix } from "../src/retention/archive";
import { PRUNE_CHUNK_ROWS, prune, type PartReport, type PruneEnv, type RawReport } from "../src/retention/prune";
import { prunedBefore, runJob } from "../src/cron/jobs";
import { aggregate } from "../src/summaries/aggregate";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 6, 15, 12, 0, 0);
const RAW_CUTOFF = NOW - 7 * DAY;
const INCIDENT_CUTOFF = NOW - 90 * DAY;
const SUMMARY_CUTOFF = NOW - 400 * DAY;

type Detail = { finished: boolean; raw_logs: RawReport; incidents: PartReport; summaries: PartReport };

const { ARCHIVE: _archive, ...envWithoutArchive } = env;
const noArchive: PruneEnv = envWithoutArchive;

function run(e: PruneEnv, over: { deadline?: number; olderThanMs?: number } = {}) {
  return prune(e, { now: NOW, deadline: Date.now() + 60_000, cursor: null, ...over }).then((o) => ({
    rows: o.rows,
    detail: o.detail as Detail,
  }));
}

function bucket(): R2Bucket {
  if (!env.ARCHIVE) throw new Error("ARCHIVE is not bound (vitest.config.ts)");
  return env.ARCHIVE;
}

let counter = 0;
/** A stored log row, with text worth round-tripping (unicode, JSON attributes, an error). */
function logRow(service: string, timestamp: number): LogRow {
  const i = counter++;
  return [
    `t:${service}:${i}`,
    timestamp,
    timestamp + 7,
    service,
    "GET",
    "/items/:id",
    `/items/${i}?q=é`,
    i % 3 === 0 ? 503 : 200,
    12.5 + i,
    null,
    10,
    i,
    i % 3 === 0 ? "upstream “timeout”" : null,
    i % 2 === 0 ? 1 : 0,
    null,
    `req-${i}`,
    null,
    "curl/8",
    null,
    "eu",
    JSON.stringify({ tier: "gold", n: i }),
    "ingest",
    0,
  ];
}

/** Writes rows through the real D1 batch writer, 1,000 per batch. */
async function insertLogs(rows: readonly LogRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000) {
    await writeLogBatch(
      env.DB,
      rows.slice(i, i + 1000).map((r) => JSON.stringify(r)),
      NOW,
    );
  }
}

async function logKeys(): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT record_key FROM request_logs ORDER BY record_key").all<{
    record_key: string;
  }>();
  return results.map((r) => r.record_key);
}

/** The archived line a row must become: stored columns by SQL name, booleans as booleans. */
function expectedLine(row: LogRow): Record<string, unknown> {
  const line: Record<string, unknown> = {
    ...Object.fromEntries(LOG_COLUMNS.map((c, i) => [c, row[i]])),
    weight: row[23] ?? 1,
  };
  line.response_empty = line.response_empty === 1;
  line.inconsistent = line.inconsistent === 1;
  return line;
}

async function archiveKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket().list({ prefix: "raw/", cursor });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys.sort();
}

async function readArchive(key: string): Promise<Record<string, unknown>[]> {
  const object = await bucket().get(key);
  if (!object) throw new Error(`no object ${key}`);
  const text = await new Response(object.body.pipeThrough(new DecompressionStream("gzip"))).text();
  expect(text.endsWith("\n")).toBe(true);
  return text
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function incident(id: string, status: "open" | "resolved", openedAt: number, resolvedAt: number | null) {
  return {
    id,
    service: "svc",
    method: "GET",
    route: "/x",
    severity: "warning",
    status,
    openedAt,
    resolvedAt,
    lastEventAt: resolvedAt ?? openedAt,
    severityScore: 1,
    healthScore: 50,
    action: "watch",
    signals: "[]",
    figures: "{}",
    explanation: "",
    updatedAt: NOW,
  };
}

function summary(granularity: "hour" | "day", bucketStart: number) {
  return {
    granularity,
    service: "svc",
    method: "GET",
    route: "/x",
    bucketStart,
    count: 1,
    status2xx: 1,
    status3xx: 0,
    status4xx: 0,
    status5xx: 0,
    silentFailures: 0,
    inconsistent: 0,
    bytes: 0,
    latencySum: 10,
    apdexSatisfied: 1,
    apdexTolerating: 0,
    apdexTMs: 500,
    sketch: "{}",
    updatedAt: NOW,
  };
}

/** Writes the aggregation job's cursor as its run would. */
async function setAggregateCursor(cursor: { hour: number; seq?: number }): Promise<void> {
  await env.DB.prepare(
    "INSERT INTO job_runs (job, cursor) VALUES ('aggregate', ?) ON CONFLICT (job) DO UPDATE SET cursor = excluded.cursor",
  )
    .bind(JSON.stringify(cursor))
    .run();
}

beforeEach(async () => {
  await env.DB.batch(
    ["request_logs", "log_hours", "log_service_hours", "incidents", "summaries", "job_runs"].map((t) =>
      env.DB.prepare(`DELETE FROM ${t}`),
    ),
  );
  const keys = await archiveKeys();
  if (keys.length > 0) await bucket().delete(keys);
});

describe("prune without an archive", () => {
  it("deletes exactly what is past each retention", async () => {
    await insertLogs([
      logRow("gone", RAW_CUTOFF - 1),
      logRow("gone", RAW_CUTOFF - 3 * DAY),
      logRow("kept", RAW_CUTOFF + 1),
      logRow("kept", RAW_CUTOFF),
      logRow("kept", NOW - HOUR),
    ]);
    const db = drizzle(env.DB);
    for (const i of [
      incident("resolved-old", "resolved", INCIDENT_CUTOFF - 2 * DAY, INCIDENT_CUTOFF - 1),
      incident("resolved-inside", "resolved", INCIDENT_CUTOFF - 2 * DAY, INCIDENT_CUTOFF + 1),
      incident("open-old", "open", INCIDENT_CUTOFF - 200 * DAY, null),
      incident("resolved-new", "resolved", NOW - DAY, NOW - HOUR),
    ])
      await db.insert(incidents).values(i);
    for (const s of [
      summary("hour", SUMMARY_CUTOFF - 1),
      summary("day", SUMMARY_CUTOFF - DAY),
      summary("hour", SUMMARY_CUTOFF),
      summary("day", SUMMARY_CUTOFF + 1),
      summary("hour", NOW - HOUR),
    ])
      await db.insert(summaries).values(s);

    const serviceHours = async () =>
      (
        await env.DB.prepare("SELECT service, hour FROM log_service_hours ORDER BY service, hour").all<{
          service: string;
          hour: number;
        }>()
      ).results.map((r) => `${r.service} ${r.hour - RAW_CUTOFF / HOUR}`);
    expect(await serviceHours()).toEqual(["gone -72", "gone -1", "kept 0", "kept 167"]);

    const { rows, detail } = await run(noArchive);

    // The search index of the services' hours keeps exactly the hours that still hold raw rows.
    expect(await serviceHours()).toEqual(["kept 0", "kept 167"]);
    expect((await logKeys()).every((k) => k.startsWith("t:kept:"))).toBe(true);
    expect(await logKeys()).toHaveLength(3);
    const left = await db.select({ id: incidents.id }).from(incidents);
    expect(left.map((r) => r.id).sort()).toEqual(["open-old", "resolved-inside", "resolved-new"]);
    const buckets = await db.select({ g: summaries.granularity, b: summaries.bucketStart }).from(summaries);
    expect(buckets.map((s) => s.b - SUMMARY_CUTOFF).sort((a, b) => a - b)).toEqual([0, 1, NOW - HOUR - SUMMARY_CUTOFF]);
    expect(rows).toBe(2 + 1 + 2);
    expect(detail.finished).toBe(true);
    expect(detail.raw_logs).toMatchObject({ cutoff: RAW_CUTOFF, deleted: 2, finished: true, archived: false });
    expect(detail.incidents).toEqual({ cutoff: INCIDENT_CUTOFF, deleted: 1, finished: true });
    expect(detail.summaries).toEqual({ cutoff: SUMMARY_CUTOFF, deleted: 2, finished: true });
    expect(await archiveKeys()).toEqual([]);

    const again = await run(noArchive);
    expect(again.rows).toBe(0);
    expect(again.detail.finished).toBe(true);
  });

  it("olderThanMs overrides the raw retention only", async () => {
    await insertLogs([logRow("gone", NOW - 2 * HOUR - 1), logRow("kept", NOW - 2 * HOUR + 1)]);
    await setAggregateCursor({ hour: NOW - HOUR });
    await drizzle(env.DB)
      .insert(incidents)
      .values(incident("resolved-new", "resolved", NOW - DAY, NOW - 3 * HOUR));
    const { rows, detail } = await run(noArchive, { olderThanMs: 2 * HOUR });
    expect(await logKeys()).toEqual([expect.stringMatching(/^t:kept:/)]);
    expect(rows).toBe(1);
    expect(detail.raw_logs.cutoff).toBe(NOW - 2 * HOUR);
    expect(detail.incidents.deleted).toBe(0);
  });
});

describe("prune and the aggregation", () => {
  const maxSeq = async () =>
    (await env.DB.prepare("SELECT max(seq) AS s FROM log_hours").first<{ s: number }>())?.s ?? 0;

  it("stops an explicit cutoff at the aggregation's progress and says so; the default retention applies as is", async () => {
    const rows = [
      logRow("gone", NOW - 5 * HOUR),
      logRow("gone", NOW - 3 * HOUR - 1),
      logRow("kept", NOW - 3 * HOUR),
      logRow("kept", NOW - 2 * HOUR),
    ];
    await insertLogs(rows);
    // The aggregation is behind: its last closed hour done ends at NOW - 3h.
    await setAggregateCursor({ hour: NOW - 4 * HOUR, seq: await maxSeq() });
    const { detail } = await run(noArchive, { olderThanMs: HOUR });
    expect((await logKeys()).every((k) => k.startsWith("t:kept:"))).toBe(true);
    expect(await logKeys()).toHaveLength(2);
    expect(detail.raw_logs).toMatchObject({
      cutoff: NOW - 3 * HOUR,
      deleted: 2,
      clamped: { requested_cutoff: NOW - HOUR, aggregated_until: NOW - 3 * HOUR },
    });

    // Not clamped when the cutoff is inside the progress.
    const inside = await run(noArchive, { olderThanMs: 4 * HOUR });
    expect(inside.detail.raw_logs.clamped).toBeUndefined();
    expect(inside.detail.raw_logs.cutoff).toBe(NOW - 4 * HOUR);
  });

  it("keeps records the aggregation has not looked at yet, and everything inside the retention when it never ran", async () => {
    await insertLogs([logRow("seen", NOW - 6 * HOUR)]);
    await setAggregateCursor({ hour: NOW - HOUR, seq: await maxSeq() });
    // Stored after the last aggregation run, for an hour it had already done.
    await insertLogs([logRow("late", NOW - 5 * HOUR + 10)]);
    const { detail } = await run(noArchive, { olderThanMs: 30 * 60_000 });
    expect(detail.raw_logs).toMatchObject({
      cutoff: NOW - 5 * HOUR,
      deleted: 1,
      clamped: { aggregated_until: NOW - 5 * HOUR },
    });
    expect(await logKeys()).toEqual([expect.stringMatching(/^t:late:/)]);

    await env.DB.prepare("DELETE FROM job_runs").run();
    const never = await run(noArchive, { olderThanMs: HOUR });
    expect(never.detail.raw_logs).toMatchObject({
      cutoff: RAW_CUTOFF,
      deleted: 0,
      clamped: { requested_cutoff: NOW - HOUR, aggregated_until: null },
    });
    expect(await logKeys()).toHaveLength(1);
  });

  it("records the newest cutoff it applied, and the aggregation no longer recomputes the hours before it", async () => {
    const hours = [NOW - 3 * HOUR, NOW - 2 * HOUR, NOW - HOUR];
    await insertLogs(hours.flatMap((h) => Array.from({ length: 6 }, (_, i) => logRow("agg", h + i * 10 * 60_000))));
    // NOW is a fixed date: the deadlines come from the real clock.
    const aggregateAt = (now: number, range: { from?: number; to?: number } = {}) =>
      runJob(env.DB, "aggregate", (ctx) => aggregate(env, { ...ctx, ...range, deadline: Date.now() + 60_000 }), now);
    const counts = async () => {
      const { results } = await env.DB.prepare(
        "SELECT bucket_start, count FROM summaries WHERE granularity = 'hour' ORDER BY bucket_start",
      ).all<{ bucket_start: number; count: number }>();
      return results.map((r) => [r.bucket_start, r.count]);
    };
    await aggregateAt(NOW);
    const before = await counts();
    expect(before).toEqual(hours.map((h) => [h, 6]));

    // Deletes the rows before NOW - 1.5h: all of the first hour, half of the second.
    const pruneAt = (olderThanMs?: number) =>
      runJob(env.DB, "prune", (ctx) => prune(noArchive, { ...ctx, olderThanMs, deadline: Date.now() + 60_000 }), NOW);
    expect((await pruneAt(1.5 * HOUR)).detail?.raw_logs).toMatchObject({ cutoff: NOW - 1.5 * HOUR, deleted: 9 });
    const next = await aggregateAt(NOW + 5 * 60_000);
    expect(await counts()).toEqual(before);
    expect(next.detail).toMatchObject({ complete: true });
    expect(await prunedBefore(env.DB)).toBe(NOW - 1.5 * HOUR);
    // An older cutoff (the daily default) does not lower the watermark.
    await pruneAt();
    expect(await prunedBefore(env.DB)).toBe(NOW - 1.5 * HOUR);
    const ranged = await aggregateAt(NOW + 10 * 60_000, { from: NOW - 3 * HOUR, to: NOW });
    expect(ranged.detail).toMatchObject({ hours_skipped_pruned: 2, hours: 2 });
    expect(await counts()).toEqual(before);
  });
});

describe("prune with the R2 archive", () => {
  it("writes each service and hour as gzip NDJSON, then deletes exactly those rows; a re-run changes nothing", async () => {
    const h1 = Date.UTC(2026, 6, 1, 13); // 2026-07-01 13:00 UTC
    const old = [
      logRow("shop", h1 + 5 * 60_000),
      logRow("shop", h1 + 59 * 60_000),
      logRow("auth", h1 + 30 * 60_000),
      logRow("shop", h1 + HOUR + 1),
      logRow("shop", RAW_CUTOFF - 1),
    ] as const;
    const fresh = [logRow("shop", RAW_CUTOFF), logRow("auth", NOW - HOUR)];
    await insertLogs([...old, ...fresh]);

    const { rows, detail } = await run(env);

    const lastHour = new Date(RAW_CUTOFF - 1).toISOString().slice(11, 13);
    expect(await archiveKeys()).toEqual([
      "raw/auth/2026/07/01/13.ndjson.gz",
      "raw/shop/2026/07/01/13.ndjson.gz",
      "raw/shop/2026/07/01/14.ndjson.gz",
      `raw/shop/2026/07/08/${lastHour}.ndjson.gz`,
    ]);
    const line = (r: LogRow) => expectedLine(r);
    expect(await readArchive("raw/shop/2026/07/01/13.ndjson.gz")).toEqual([line(old[0]), line(old[1])]);
    expect(await readArchive("raw/auth/2026/07/01/13.ndjson.gz")).toEqual([line(old[2])]);
    expect(await readArchive("raw/shop/2026/07/01/14.ndjson.gz")).toEqual([line(old[3])]);
    expect(await readArchive(`raw/shop/2026/07/08/${lastHour}.ndjson.gz`)).toEqual([line(old[4])]);
    expect(await logKeys()).toEqual(fresh.map((r) => r[0]).sort());
    expect(rows).toBe(5);
    expect(detail.raw_logs).toMatchObject({
      deleted: 5,
      archived: true,
      archived_rows: 5,
      archive_objects: 4,
      archive_failed_rows: 0,
      finished: true,
    });

    const again = await run(env);
    expect(again.rows).toBe(0);
    expect(again.detail.raw_logs).toMatchObject({ deleted: 0, archive_objects: 0, finished: true });
    expect(await archiveKeys()).toHaveLength(4);
    expect(await logKeys()).toHaveLength(2);
  });

  it("writes a new part when the hour's object exists, never overwriting one", async () => {
    const h = Date.UTC(2026, 6, 2, 9);
    const early = logRow("shop", h + 10 * 60_000);
    const late = logRow("shop", h + 40 * 60_000);
    const later = logRow("shop", h + 50 * 60_000);
    await insertLogs([early, late, later]);

    // The first run's cutoff falls inside the hour: only the early row goes.
    await run(env, { olderThanMs: NOW - (h + 30 * 60_000) });
    // A crashed run left objects at both the hour key and the next part key of `late`.
    const partKey = `raw/shop/2026/07/02/09.${late[1]}.ndjson.gz`;
    await bucket().put(partKey, "left by a crashed run");
    const { detail } = await run(env);

    const keys = await archiveKeys();
    expect(keys).toHaveLength(3);
    expect(await readArchive("raw/shop/2026/07/02/09.ndjson.gz")).toEqual([expectedLine(early)]);
    expect(await (await bucket().get(partKey))?.text()).toBe("left by a crashed run");
    const unique = keys.find((k) => k !== partKey && k.startsWith(`raw/shop/2026/07/02/09.${late[1]}.`));
    expect(unique).toBeDefined();
    expect(await readArchive(unique ?? "")).toEqual([late, later].map((r) => expectedLine(r)));
    expect(detail.raw_logs).toMatchObject({ deleted: 2, finished: true });
    expect(await logKeys()).toEqual([]);
  });

  it("deletes no row whose archive write failed, and archives them on the next run", async () => {
    const h = Date.UTC(2026, 6, 3, 0);
    const rows = [
      logRow("shop", h + 1),
      logRow("shop", h + HOUR + 1),
      logRow("shop", h + 2 * HOUR + 1),
      logRow("auth", h + 2),
      logRow("auth", h + HOUR + 2),
      logRow("pay", h + 3),
    ] as const;
    await insertLogs(rows);
    const archive = bucket();
    // shop 01:00 rejects, pay throws before returning a promise; everything else is written.
    const flaky = new Proxy(archive, {
      get(target, prop) {
        if (prop === "put") {
          return (key: string, value: Parameters<R2Bucket["put"]>[1], options?: Parameters<R2Bucket["put"]>[2]) => {
            if (key.startsWith("raw/shop/2026/07/03/01")) return Promise.reject(new Error("R2 500: internal error"));
            if (key.startsWith("raw/pay/")) throw new Error("network connection lost");
            return target.put(key, value, options);
          };
        }
        const value: unknown = Reflect.get(target, prop);
        return typeof value === "function" ? (value.bind(target) as unknown) : value;
      },
    });

    const first = await run({ ...env, ARCHIVE: flaky });

    expect(await logKeys()).toEqual([rows[1][0], rows[5][0]].sort());
    expect(await archiveKeys()).toEqual([
      "raw/auth/2026/07/03/00.ndjson.gz",
      "raw/auth/2026/07/03/01.ndjson.gz",
      "raw/shop/2026/07/03/00.ndjson.gz",
      "raw/shop/2026/07/03/02.ndjson.gz",
    ]);
    expect(first.detail.raw_logs).toMatchObject({ deleted: 4, archive_failed_rows: 2, finished: false });
    expect(first.detail.raw_logs.errors.sort()).toEqual([
      "raw/pay/2026/07/03/00: network connection lost",
      "raw/shop/2026/07/03/01: R2 500: internal error",
    ]);
    expect(first.detail.finished).toBe(false);

    // R2 down altogether: nothing is deleted, and the run stops after the first chunk.
    const down = await run({
      ...env,
      ARCHIVE: new Proxy(archive, { get: () => () => Promise.reject(new Error("down")) }),
    });
    expect(down.detail.raw_logs).toMatchObject({ deleted: 0, archive_failed_rows: 2, finished: false });
    expect(await logKeys()).toHaveLength(2);

    const second = await run(env);
    expect(second.detail.raw_logs).toMatchObject({ deleted: 2, archive_objects: 2, finished: true });
    expect(await logKeys()).toEqual([]);
    expect(await archiveKeys()).toHaveLength(6);
  });
});

describe("chunks and deadline", () => {
  const total = PRUNE_CHUNK_ROWS + 1_500;
  const oldRows = () =>
    Array.from({ length: total }, (_, i) => logRow(i % 2 ? "shop" : "auth", RAW_CUTOFF - 1 - i * 1_000));

  it("stops after one chunk when the deadline passed, and the next run finishes (no archive)", async () => {
    await insertLogs([...oldRows(), logRow("kept", RAW_CUTOFF)]);
    const first = await run(noArchive, { deadline: Date.now() - 1 });
    expect(first.detail.raw_logs).toMatchObject({ deleted: PRUNE_CHUNK_ROWS, finished: false });
    expect(first.detail.finished).toBe(false);
    const second = await run(noArchive);
    expect(second.detail.raw_logs).toMatchObject({ deleted: total - PRUNE_CHUNK_ROWS, finished: true });
    expect(await logKeys()).toEqual([expect.stringMatching(/^t:kept:/)]);
  });

  it("archives chunk by chunk: every row exactly once across the objects", async () => {
    const rows = oldRows();
    await insertLogs(rows);
    const first = await run(env, { deadline: Date.now() - 1 });
    expect(first.detail.raw_logs).toMatchObject({
      deleted: PRUNE_CHUNK_ROWS,
      archived_rows: PRUNE_CHUNK_ROWS,
      finished: false,
    });
    expect(await logKeys()).toHaveLength(total - PRUNE_CHUNK_ROWS);
    const second = await run(env);
    expect(second.detail.raw_logs).toMatchObject({ deleted: total - PRUNE_CHUNK_ROWS, finished: true });
    expect(await logKeys()).toEqual([]);

    const archived: string[] = [];
    for (const key of await archiveKeys()) {
      const lines = await readArchive(key);
      const service = key.split("/")[1];
      const hourStart = (l: Record<string, unknown>) => Math.floor((l.timestamp as number) / HOUR) * HOUR;
      expect(
        lines.every((l) => l.service === service && key.startsWith(`${hourPrefix(service ?? "", hourStart(l))}.`)),
      ).toBe(true);
      archived.push(...lines.map((l) => l.record_key as string));
    }
    expect(archived.sort()).toEqual(rows.map((r) => r[0]).sort());
  });
});
