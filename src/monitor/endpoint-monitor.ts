/**
 * One Durable Object per endpoint (service, method, route). It is the durability point of
 * ingest: a hand-off is committed to the object's SQLite in one transaction, then an alarm
 * moves the buffered records to D1 in large batches and marks them flushed only after D1
 * committed. A D1 failure leaves the records buffered and retries with backoff; an eviction
 * mid-flush loses nothing because the buffer is on disk and D1 ignores re-sent keys.
 */
import { DurableObject } from "cloudflare:workers";
import { MAX_BATCH_BYTES, MAX_BATCH_RECORDS, ROW_KEY, ROW_TIMESTAMP, toLogRow, utf8Bytes } from "../db/log-writer";
import { log } from "../http/log";
import type { LogRecord } from "../ingest/record";
import { MAX_COUNTER, SCHEMA_STATEMENTS, SCHEMA_VERSION, UPSERT_BUCKET } from "./buffer-sql";
import { flushBatch } from "./flush";
import { BUCKET_HORIZON_MS, countByMinute, flushBackoffMs } from "./minute-counts";

/** Default delay between the first buffered record and the flush, so that concurrent hand-offs share a batch. */
export const DEFAULT_FLUSH_DELAY_MS = 250;
/** How long flushed keys are remembered to recognise a retried hand-off. */
export const DEDUP_WINDOW_MS = 15 * 60 * 1000;
/** Time one alarm may spend flushing before it hands over to the next alarm. */
const FLUSH_BUDGET_MS = 20_000;

export interface IngestResult {
  stored: number;
  duplicates: number;
}

export interface EndpointStats {
  service: string | null;
  method: string | null;
  route: string | null;
  received: number;
  /** Hand-off RPCs received (several requests' records can share one). */
  handoffs: number;
  duplicates: number;
  late: number;
  flushed: number;
  backlog: number;
  flush_failures: number;
  /** Records D1 refused on their own, kept in the object's quarantine table. */
  quarantined: number;
  consecutive_flush_failures: number;
  last_flush_at: number | null;
  last_event_at: number | null;
  minutes: { minute: number; count: number; status_5xx: number; status_4xx: number; silent_failures: number; latency_avg_ms: number; latency_max_ms: number }[];
}

export class EndpointMonitor extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The D1 database records are flushed to; a field so that fault tests can wrap it. */
  logsDb: D1Database;
  private alarmKnownPending = false;
  /** Whether (service, method, route) is in `meta` already; saves a write per hand-off. */
  private identityStored = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.logsDb = env.DB;
    void ctx.blockConcurrencyWhile(async () => this.migrate());
  }

  private migrate(): void {
    for (const statement of SCHEMA_STATEMENTS) this.sql.exec(statement);
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0];
    if (!row) this.sql.exec("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", String(SCHEMA_VERSION));
  }

  /** Adds to several counters in one statement, skipping zeros. */
  private addCounters(increments: Record<string, number>): void {
    const entries = Object.entries(increments).filter(([, n]) => n !== 0);
    if (entries.length === 0) return;
    this.sql.exec(
      `INSERT INTO counters (name, value) VALUES ${entries.map(() => "(?, ?)").join(", ")}
       ON CONFLICT (name) DO UPDATE SET value = value + excluded.value`,
      ...entries.flat(),
    );
  }

  private counter(name: string): number {
    const row = this.sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = ?", name).toArray()[0];
    return row?.value ?? 0;
  }

  private meta(key: string): string | null {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    return row?.value ?? null;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
  }

  /** Commits a batch of this endpoint's records (the durability point) and schedules the flush. */
  async ingest(records: LogRecord[]): Promise<IngestResult> {
    const now = Date.now();
    // Sampled-out records (proxy sampling) are counted below but not stored raw.
    const rows = JSON.stringify(records.filter((r) => !r.sampled_out).map(toLogRow));
    const result = this.ctx.storage.transactionSync(() => {
      // One statement for the whole hand-off; keys seen before (or twice in it) are duplicates.
      const seen = new Set(
        this.sql
          .exec<{ record_key: string }>(
            `SELECT record_key FROM records WHERE record_key IN (SELECT value ->> ${ROW_KEY} FROM json_each(?))`,
            rows,
          )
          .toArray()
          .map((r) => r.record_key),
      );
      const fresh: LogRecord[] = [];
      for (const r of records) {
        if (seen.has(r.key)) continue;
        seen.add(r.key);
        fresh.push(r);
      }
      this.sql.exec(
        `INSERT OR IGNORE INTO records (record_key, ts, body)
         SELECT value ->> ${ROW_KEY}, value ->> ${ROW_TIMESTAMP}, value FROM json_each(?)`,
        rows,
      );
      const first = fresh[0];
      if (first && !this.identityStored) {
        this.sql.exec(
          "INSERT OR IGNORE INTO meta (key, value) VALUES ('service', ?), ('method', ?), ('route', ?)",
          first.service,
          first.method,
          first.route,
        );
      }
      const { buckets, late } = countByMinute(fresh, now);
      for (const b of buckets) {
        this.sql.exec(
          UPSERT_BUCKET,
          b.minute,
          b.count,
          b.status_2xx,
          b.status_3xx,
          b.status_4xx,
          b.status_5xx,
          b.silent_failures,
          b.latency_sum,
          b.latency_max,
          b.bytes,
        );
      }
      const lastEvent = fresh.reduce((max, r) => Math.max(max, r.timestamp), 0);
      if (lastEvent > 0) this.sql.exec(MAX_COUNTER, "last_event_at", lastEvent);
      this.addCounters({ received: fresh.length, duplicates: records.length - fresh.length, late, handoffs: 1 });
      return { stored: fresh.length, duplicates: records.length - fresh.length };
    });
    if (result.stored > 0) this.identityStored = true;
    // Also for a hand-off of duplicates only: its first try may have committed and then lost
    // the alarm (the object reset between the two).
    if (records.length > 0) await this.scheduleFlush(now + this.flushDelayMs());
    return result;
  }

  private flushDelayMs(): number {
    const ms = Number(this.env.FLUSH_DELAY_MS);
    return Number.isFinite(ms) && ms >= 0 ? ms : DEFAULT_FLUSH_DELAY_MS;
  }

  private async scheduleFlush(at: number): Promise<void> {
    if (this.alarmKnownPending) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null) await this.ctx.storage.setAlarm(at);
    this.alarmKnownPending = true;
  }

  private backlog(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM records WHERE flushed_at IS NULL").one().n;
  }

  /** Moves buffered records to D1 in batches; on failure keeps them and retries with backoff. */
  override async alarm(): Promise<void> {
    this.alarmKnownPending = false;
    const started = Date.now();
    while (Date.now() - started < FLUSH_BUDGET_MS) {
      const batch = this.nextBatch();
      if (batch.keys.length === 0) break;
      const failuresSoFar = Number(this.meta("consecutive_flush_failures") ?? 0);
      const outcome = await flushBatch(this.logsDb, batch, Date.now(), failuresSoFar);
      if (outcome.kind === "failed") {
        const failures = failuresSoFar + 1;
        const retryIn = flushBackoffMs(failures);
        this.ctx.storage.transactionSync(() => {
          this.setMeta("consecutive_flush_failures", String(failures));
          this.addCounters({ flush_failures: 1 });
        });
        log("error", "d1_flush_failed", {
          endpoint: this.ctx.id.name ?? null,
          records: batch.keys.length,
          consecutive_failures: failures,
          retry_in_ms: retryIn,
          message: outcome.error instanceof Error ? outcome.error.message : String(outcome.error),
        });
        await this.ctx.storage.setAlarm(Date.now() + retryIn);
        this.alarmKnownPending = true;
        return;
      }
      const written = outcome.kind === "written" ? batch.keys : outcome.written;
      const poisoned = outcome.kind === "isolated" ? outcome.poisoned : [];
      const flushedAt = Date.now();
      this.ctx.storage.transactionSync(() => {
        this.sql.exec(
          "UPDATE records SET flushed_at = ? WHERE record_key IN (SELECT value FROM json_each(?))",
          flushedAt,
          JSON.stringify(written),
        );
        for (const p of poisoned) {
          this.sql.exec(
            "INSERT OR REPLACE INTO quarantine (record_key, body, error, quarantined_at) VALUES (?, ?, ?, ?)",
            p.key,
            p.body,
            p.error,
            flushedAt,
          );
          this.sql.exec("DELETE FROM records WHERE record_key = ?", p.key);
        }
        this.addCounters({ flushed: written.length, quarantined: poisoned.length });
        this.setMeta("consecutive_flush_failures", "0");
        this.setMeta("last_flush_at", String(flushedAt));
      });
      for (const p of poisoned) {
        log("error", "d1_record_quarantined", { endpoint: this.ctx.id.name ?? null, record_key: p.key, message: p.error });
      }
    }
    this.prune(Date.now());
    if (this.backlog() > 0) await this.scheduleFlush(Date.now());
  }

  private nextBatch(): { keys: string[]; bodies: string[] } {
    const keys: string[] = [];
    const bodies: string[] = [];
    let bytes = 0;
    const rows = this.sql.exec<{ record_key: string; body: string }>(
      "SELECT record_key, body FROM records WHERE flushed_at IS NULL ORDER BY ts LIMIT ?",
      MAX_BATCH_RECORDS,
    );
    for (const row of rows) {
      const size = utf8Bytes(row.body) + 1;
      if (keys.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
      keys.push(row.record_key);
      bodies.push(row.body);
      bytes += size;
    }
    return { keys, bodies };
  }

  private prune(now: number): void {
    this.sql.exec("DELETE FROM records WHERE flushed_at IS NOT NULL AND flushed_at < ?", now - DEDUP_WINDOW_MS);
    this.sql.exec("DELETE FROM minute_buckets WHERE minute < ?", now - BUCKET_HORIZON_MS);
  }

  /** Counters, backlog and the last hour of minute buckets. */
  async stats(): Promise<EndpointStats> {
    const since = Date.now() - 60 * 60 * 1000;
    const minutes = this.sql
      .exec<{ minute: number; count: number; status_5xx: number; status_4xx: number; silent_failures: number; latency_sum: number; latency_max: number }>(
        "SELECT minute, count, status_5xx, status_4xx, silent_failures, latency_sum, latency_max FROM minute_buckets WHERE minute >= ? ORDER BY minute",
        Math.floor(since / 60_000) * 60_000,
      )
      .toArray()
      .map((m) => ({
        minute: m.minute,
        count: m.count,
        status_5xx: m.status_5xx,
        status_4xx: m.status_4xx,
        silent_failures: m.silent_failures,
        latency_avg_ms: m.count > 0 ? m.latency_sum / m.count : 0,
        latency_max_ms: m.latency_max,
      }));
    const lastFlush = this.meta("last_flush_at");
    const lastEvent = this.counter("last_event_at") || null;
    return {
      service: this.meta("service"),
      method: this.meta("method"),
      route: this.meta("route"),
      received: this.counter("received"),
      handoffs: this.counter("handoffs"),
      duplicates: this.counter("duplicates"),
      late: this.counter("late"),
      flushed: this.counter("flushed"),
      backlog: this.backlog(),
      flush_failures: this.counter("flush_failures"),
      quarantined: this.counter("quarantined"),
      consecutive_flush_failures: Number(this.meta("consecutive_flush_failures") ?? 0),
      last_flush_at: lastFlush === null ? null : Number(lastFlush),
      last_event_at: lastEvent,
      minutes,
    };
  }
}
