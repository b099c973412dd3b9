/**
 * One Durable Object per endpoint (service, method, route). It is the durability point of
 * ingest: a hand-off is committed to the object's SQLite in one transaction, then an alarm
 * moves the buffered records to D1 in large batches and marks them flushed only after D1
 * committed. A D1 failure leaves the records buffered and retries with backoff; an eviction
 * mid-flush loses nothing because the buffer is on disk and D1 ignores re-sent keys.
 *
 * It is also where detection runs: right after the commit, a second transaction adds the records
 * to the event-time windows and evaluates every minute the records' clock closes (see
 * DetectionRunner); a failure there is logged and never fails the hand-off. The
 * alarm copies incidents and health to D1 and, while the endpoint is live, closes minutes on the
 * wall clock so that silence is noticed.
 */
import { DurableObject } from "cloudflare:workers";
import { summarizeIncident } from "../ai/summarize";
import { AI_ALERT_WAIT_MS, AlertOutbox, announceChange, OUTBOX_SCHEMA } from "../alerts/outbox";
import type { DetectionConfig } from "../detect/config";
import type { Evaluation } from "../detect/evaluate";
import type { Endpoint } from "../detect/incident";
import { log } from "../http/log";
import type { LogRecord } from "../ingest/record";
import { REQUEST_COUNTER_NAMES, requestIncrements, requestMetricsFrom, type RequestMetrics } from "../metrics/request-counters";
import { SCHEMA_STATEMENTS, SCHEMA_VERSION } from "./buffer-sql";
import { ARCHIVE_PASS_BYTES, ARCHIVE_PASS_CHUNKS, markWriteThrough, writeThrough } from "./archive-through";
import { ALARM_GRACE_MS, DETECTION_SCHEMA, DetectionRunner } from "./detection-runner";
import { flushBatch, writeRowByRow } from "./flush";
import { flushCut, nextMinuteFlushAt, waitsForMinute } from "./flush-cadence";
import { HOUR_MS, MINUTE_MS, flushBackoffMs } from "./minute-counts";
import { ObjectMeta } from "./object-meta";
import { RecordBuffer, type AbsorbedMark, type Counts } from "./record-buffer";
import { publishQuarantineCount, Quarantine, type QuarantinedRecord } from "./quarantine";
import { reevaluateEndpoint, type ReevaluateResult, type ReplaySource } from "./reevaluate";
import { buildDetail, buildStats, type EndpointDetail, type EndpointStats } from "./stats";
import { BREAKDOWN_WINDOWS, breakdownRange, breakdownView, groupBuckets, type BreakdownView, type BreakdownWindow, type GroupBucket } from "../breakdown/window";
import { emptyBreakdown, type Dimension } from "../breakdown/top-k";
import { EndpointWindows, migrateWindows, WINDOW_SCHEMA, type SeriesPoint } from "./windows";
import { windowsCover, type SourcePlan } from "../timeseries/plan";
import { nextReminderAt, reminderMinutes } from "../alerts/reminders";
import { DEFAULT_DEPLOY_CORRELATION_MINUTES, deployId, versionChange, type Deploy } from "../deploys/deploys";
import { saveDeploy } from "../deploys/store";
import { alertsHeld, annotateOpened, releaseHeld } from "./follow-up";
import { joinOpened, routeAlert } from "./group-link";
import { ServiceContext } from "./service-context";
import { coveringWindow } from "../maintenance/windows";
import { addCounts, countsFrom, CostMeter, type CostCounts } from "../cost/counts";
import { meteredD1 } from "../cost/d1";
import { meteredSql, type MeteredSql } from "../cost/sql-storage";
import { currentD1Size } from "../cost/d1-size";
import { serviceDirectory } from "../services/store";
import { ALL_RECORDS, samplingPolicy } from "../storage/policy";
import type { SamplingPolicy } from "../storage/sampling";
import { meteredR2 } from "../cost/r2";
import { hourSummaryRow, writeHourSummaries } from "./capped-summaries";
import { ROW_TIMESTAMP } from "../db/log-writer";

export type { EndpointStats, EndpointDetail, ReevaluateResult, QuarantinedRecord };
export { DEDUP_WINDOW_MS } from "./record-buffer";

/** Default delay between the first buffered record and the flush, so that concurrent hand-offs share a batch. */
export const DEFAULT_FLUSH_DELAY_MS = 250;
/** Time one alarm may spend flushing before it hands over to the next alarm. */
const FLUSH_BUDGET_MS = 20_000;
/**
 * An endpoint object writes through to R2 at most this often, unless ARCHIVE_EAGER_RECORDS wait:
 * a put per flush was a class A operation ($4.50 per million) per record for an endpoint with a
 * record per flush. The first pass after a wake goes at once.
 */
export const ARCHIVE_EVERY_MS = 60_000;
const ARCHIVE_EAGER_RECORDS = 5000;
/** The windows changed in memory are persisted at most this often (see windows.ts: write-behind). */
export const WINDOWS_PERSIST_MS = 60_000;
/** ...or sooner once this many buckets changed (a backfill touching hours of event time): bounds memory and the replay on wake. */
const WINDOWS_PERSIST_BUCKETS = 120;

export interface IngestResult {
  stored: number;
  duplicates: number;
  /**
   * "full": this object's last flush found D1 refusing writes for capacity (the records wait here);
   * "ok": D1 took this object's flush within the last minute; absent: this object does not know.
   */
  storage?: "ok" | "full";
}

/** How recent a successful flush must be for an object to vouch that D1 takes writes. */
const STORAGE_OK_EVIDENCE_MS = 60_000;

export interface ReplayResult {
  /** Rows D1 took: they left the quarantine. */
  replayed: number;
  /** Rows D1 refused again: they stay, with the new error. */
  failed: number;
  /** Rows still in quarantine. */
  remaining: number;
  storage: "ok" | "full";
}

/** Quarantined rows tried per D1 round trip on replay, and rows per replay call. */
const REPLAY_BATCH = 100;
const MAX_REPLAY_ROWS = 5000;

export class EndpointMonitor extends DurableObject<Env> {
  private readonly sql: MeteredSql;
  /**
   * The object's billable work since it was loaded (D1 rows of its flushes and publishes, its
   * own SQLite rows, its requests), in memory; `costBase` is what it had persisted before. The
   * total is published with the endpoint's state and persisted in `meta` when it is, so a count
   * costs no extra write per hand-off; an eviction loses only what was counted since.
   */
  private readonly meter = new CostMeter();
  private costBase: CostCounts = countsFrom(null);
  /** The D1 database records are flushed to; a field so that fault tests can wrap it. */
  logsDb: D1Database;
  /** The R2 archive every record is written through to (null: not bound); a field so that fault tests can wrap it. */
  archive: R2Bucket | null;
  /** No write-through pass before this time (backoff after an R2 failure). */
  private archiveRetryAt = 0;
  /** When the last write-through pass ran (0: not since the object woke). */
  private archivedAt = 0;
  /** Whether this object wrote the write-through marker (see archive-through.ts) since it woke. */
  private archiveMarked = false;
  /**
   * Whether the last alarm found this endpoint flushing once a minute (see flush-cadence.ts): a
   * hand-off then asks for the alarm at the next minute's flush, not after FLUSH_DELAY_MS.
   */
  private waitingForMinute = false;
  /** When the pending alarm is known to fire (null: unknown, ask storage). */
  private alarmAt: number | null = null;
  /** Consecutive failed copies to D1 of detection results (for the retry backoff). */
  private syncFailures = 0;
  /**
   * True while a re-evaluation replays D1. Live records are then committed but neither flushed
   * nor absorbed: they wait in `heldBack` and are absorbed after the replay (they cannot be in
   * D1 yet, so the replay cannot count them twice).
   */
  private reevaluating = false;
  private heldBack: LogRecord[] = [];
  /** The buffer chunks of `heldBack`. */
  private heldSeqs: number[] = [];
  /** Chunks committed whose records the windows have not taken yet (detection waits for settings). */
  private readonly unabsorbed = new Set<number>();
  /** Which chunks the persisted windows hold (see record-buffer.ts); chunks from `below` on are not pruned. */
  private absorbed: AbsorbedMark = { below: 0, also: [] };
  /** Hours (start) of records flushed while D1 was at its cap: their summaries are written from the windows. */
  private readonly cappedHours = new Set<number>();
  /** When the windows were last persisted (0: not since the object woke). */
  private windowsPersistedAt = 0;
  /** Whether (service, method, route) is in `meta` already; saves a write per hand-off. */
  private identityStored = false;
  private readonly store: ObjectMeta;
  readonly buffer: RecordBuffer;
  private readonly quarantine: Quarantine;
  private readonly outbox: AlertOutbox;
  private readonly windows: EndpointWindows;
  /** The service's maintenance windows and recent deploys (cached from D1). */
  private readonly context: ServiceContext;
  readonly detection: DetectionRunner;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = meteredSql(ctx.storage.sql);
    this.logsDb = meteredD1(env.DB, this.meter);
    this.archive = env.ARCHIVE ? meteredR2(env.ARCHIVE, this.meter) : null;
    // `flushed` and `archived` are counted with the buffer's marks.
    this.store = new ObjectMeta(this.sql, () => this.buffer.carried());
    this.buffer = new RecordBuffer(this.sql, this.archive !== null);
    this.quarantine = new Quarantine(this.sql);
    this.windows = new EndpointWindows(this.sql);
    this.outbox = new AlertOutbox(this.sql, () => this.logsDb, env.DASHBOARD_URL ? env.DASHBOARD_URL : null, (id) => this.summarizeBeforeAlert(id), {
      // Incident groups: a member's own alerts are carried by its group's (src/incidents/grouping.ts).
      route: (e, now) => routeAlert(env, this.detection.incidents(50).find((i) => i.id === e.incident_id), e.event, now),
    });
    this.context = new ServiceContext(() => this.logsDb, (p) => this.ctx.waitUntil(p));
    this.detection = new DetectionRunner(
      this.sql,
      this.store,
      this.windows,
      () => this.logsDb,
      (p) => this.ctx.waitUntil(p),
      // An incident that opened inside a maintenance window is recorded, not alerted, until the window ends (followUp).
      (incident, change) => (alertsHeld(incident) ? undefined : announceChange(this.outbox, incident, change, Date.now())),
      (incident) => annotateOpened(incident, this.context.current(), this.deployWithinMs()),
    );
    void ctx.blockConcurrencyWhile(async () => {
      this.migrate();
      await this.replayWindows();
    });
  }

  private migrate(): void {
    for (const statement of [...SCHEMA_STATEMENTS, ...WINDOW_SCHEMA, ...DETECTION_SCHEMA, ...OUTBOX_SCHEMA]) this.sql.exec(statement);
    migrateWindows(this.sql);
    if (this.store.get("schema_version") !== String(SCHEMA_VERSION)) this.store.set("schema_version", String(SCHEMA_VERSION));
    this.store.addPending(this.buffer.load(Date.now()));
    const mark = this.store.get("windows_absorbed");
    if (mark === null) {
      // A new object, or one whose windows were written per hand-off: they hold every chunk.
      this.absorbed = { below: this.buffer.next(), also: [] };
      this.store.set("windows_absorbed", JSON.stringify(this.absorbed));
    } else this.absorbed = JSON.parse(mark) as AbsorbedMark;
    // Kept with the last publish (`cost` in `meta` before).
    const old = this.store.get("cost");
    this.costBase = countsFrom(this.detection.publishedCost() ?? (old === null ? null : JSON.parse(old)));
    // Rows quarantined before D1's quarantine index existed were never published: publish them
    // once (the flag is cleared by the first successful publish; the next alarm does it).
    if (this.store.get("quarantine_indexed") === null && this.quarantine.count() > 0) this.markQuarantineChanged();
  }

  /**
   * On wake: adds the buffer chunks the persisted windows lack back into the windows (they were
   * in memory only when the object went away). Nothing is evaluated again.
   */
  private async replayWindows(): Promise<void> {
    const chunks = this.buffer.windowChunks(this.absorbed);
    const endpoint = this.endpoint();
    if (chunks.length === 0 || !endpoint) return;
    const cfg = await this.detection.config(endpoint);
    for (const c of chunks) this.detection.replay(c.records, c.addedAt, cfg);
    log("info", "windows_replayed", { endpoint: this.ctx.id.name ?? null, chunks: chunks.length, records: chunks.reduce((n, c) => n + c.records.length, 0) });
  }

  /**
   * Persists the windows changed in memory, the event-time clock and the mark of the chunks they
   * hold, in one transaction: at most every WINDOWS_PERSIST_MS unless WINDOWS_PERSIST_BUCKETS
   * changed (`force`: now).
   */
  private persistWindows(now: number, force = false): void {
    if (!this.windows.changed() && !force) return;
    if (!force && now - this.windowsPersistedAt < WINDOWS_PERSIST_MS && this.windows.changedCount() < WINDOWS_PERSIST_BUCKETS) return;
    const below = Math.min(...this.unabsorbed, this.buffer.next());
    const mark: AbsorbedMark = { below, also: this.buffer.seqsFrom(below).filter((seq) => !this.unabsorbed.has(seq)) };
    this.ctx.storage.transactionSync(() => {
      this.windows.persist();
      this.detection.persistClock();
      this.store.set("windows_absorbed", JSON.stringify(mark));
    });
    this.absorbed = mark;
    this.windowsPersistedAt = now;
  }

  /** Persists the windows now (tests; a re-evaluation does it itself). */
  async persistWindowsNow(): Promise<void> {
    this.persistWindows(Date.now(), true);
  }

  /** Marks the quarantine as changed since its last publication; the token tells a publish that raced a change. */
  private markQuarantineChanged(): void {
    this.store.set("quarantine_unpublished", `${Date.now()}-${Math.random()}`);
  }

  /** What this object knows of D1's capacity (see IngestResult.storage). */
  private storageReport(now: number): "ok" | "full" | undefined {
    if (this.store.get("storage_full_since") !== null) return "full";
    const lastFlush = this.lastFlushAt() ?? 0;
    return now - lastFlush <= STORAGE_OK_EVIDENCE_MS ? "ok" : undefined;
  }

  /** When D1 last took a flush (kept with the buffer's marks; `last_flush_at` in `meta` before). */
  private lastFlushAt(): number | null {
    const old = this.store.get("last_flush_at");
    return this.buffer.lastFlushAt() ?? (old === null ? null : Number(old));
  }

  /** The object's cumulative billable work (persisted part plus what this instance counted). */
  private costNow(): CostCounts {
    const rows = this.sql.collect();
    this.meter.add({ do_rows_written: rows.written, do_rows_read: rows.read });
    return addCounts(this.costBase, this.meter.counts);
  }

  /** The object's cumulative billable work, as it would publish it (GET /v1/stats reads the published copy). */
  async cost(): Promise<CostCounts> {
    this.meter.add({ do_requests: 1 });
    return this.costNow();
  }

  private async setAlarmCounted(at: number): Promise<void> {
    // Each setAlarm is billed as one SQLite row written.
    this.meter.add({ do_rows_written: 1 });
    await this.ctx.storage.setAlarm(at);
  }

  private endpoint(fallback?: LogRecord): Endpoint | null {
    const service = this.store.get("service") ?? fallback?.service;
    const method = this.store.get("method") ?? fallback?.method;
    const route = this.store.get("route") ?? fallback?.route;
    return service && method && route ? { service, method, route } : null;
  }

  /** Commits a batch of this endpoint's records (the durability point), evaluates closed minutes, and schedules the flush. */
  async ingest(records: LogRecord[]): Promise<IngestResult> {
    const now = Date.now();
    this.meter.add({ do_requests: 1 });
    const fresh = this.buffer.fresh(records);
    const newest = fresh.reduce((max, r) => Math.max(max, r.timestamp), 0);
    // The request counters of GET /metrics: counted here, in the hand-off's chunk, so exactly once.
    const counts: Counts = { received: fresh.length, duplicates: records.length - fresh.length, handoffs: 1, ...requestIncrements(fresh) };
    if (newest > 0) counts.last_event_at = newest;
    for (const [name, n] of Object.entries(counts)) if (n === 0) delete counts[name];
    let seqs: number[] = [];
    const result: IngestResult = this.ctx.storage.transactionSync(() => {
      // The one row this hand-off writes (the identity once per endpoint object).
      seqs = this.buffer.append(fresh, counts, now);
      const first = fresh[0];
      if (first && !this.identityStored) this.store.setIdentity(first);
      return { stored: fresh.length, duplicates: records.length - fresh.length, storage: this.storageReport(now) };
    });
    // Committed: from here a retry of this hand-off is a duplicate.
    this.buffer.remember(fresh);
    if (fresh.length > 0) for (const seq of seqs) this.unabsorbed.add(seq);
    this.store.addPending(counts);
    if (result.stored > 0) this.identityStored = true;
    // Also for a hand-off of duplicates only: its first try may have committed and then lost
    // the alarm (the object reset between the two). While D1 is failing the backoff alarm is
    // left where it is: hand-offs must not turn the backoff into a retry per hand-off.
    const backingOff = Number(this.store.get("consecutive_flush_failures") ?? 0) > 0;
    if (records.length > 0) await this.scheduleAlarm(this.waitingForMinute ? nextMinuteFlushAt(now) : now + this.flushDelayMs(), backingOff);
    // The records are safe from here; detection runs in its own transaction (with the settings
    // as cached: never a D1 wait before the commit), and a failure of it never fails the hand-off.
    const endpoint = this.endpoint(records[0]);
    if (endpoint && fresh.length > 0) {
      if (this.reevaluating) {
        this.heldBack.push(...fresh);
        this.heldSeqs.push(...seqs);
      } else {
        const [cfg] = await Promise.all([this.detection.config(endpoint, now), this.context.get(endpoint.service, now)]);
        this.noteVersion(fresh, endpoint);
        // The group hears of an opening in the background: the hand-off does not wait for it (the
        // alert's own route asks the group again before it goes out).
        this.ctx.waitUntil(this.joinGroups(this.absorb(fresh, now, endpoint, cfg)));
        for (const seq of seqs) this.unabsorbed.delete(seq);
      }
    } else for (const seq of seqs) this.unabsorbed.delete(seq);
    return result;
  }

  /**
   * A new `version` on the records is a deploy of the service (the first version this endpoint
   * sees is not: it only starts the history). Known here at once, stored in D1 in the background;
   * a failure there loses the marker only, never records.
   */
  private noteVersion(records: readonly LogRecord[], endpoint: Endpoint): void {
    const raw = this.store.get("last_version");
    const last = raw === null ? null : (JSON.parse(raw) as { version: string; at: number });
    const change = versionChange(records, last);
    if (!change) return;
    this.store.set("last_version", JSON.stringify({ version: change.version, at: Math.max(...records.filter((r) => r.version === change.version).map((r) => r.timestamp)) }));
    if (last === null) return;
    const deploy: Deploy = { id: deployId(endpoint.service, change.version), service: endpoint.service, version: change.version, at: change.at, description: null, source: "records" };
    this.context.note(deploy);
    log("info", "deploy_seen", { service: endpoint.service, version: change.version, at: change.at, previous: last.version });
    this.ctx.waitUntil(
      saveDeploy(this.logsDb, deploy, Date.now()).catch((err: unknown) => log("error", "deploy_save_failed", { service: endpoint.service, version: change.version, message: err instanceof Error ? err.message : String(err) })),
    );
  }

  /** Incidents that opened (not held by maintenance) join their service's group. */
  private async joinGroups(evaluations: readonly Evaluation[]): Promise<void> {
    const opened = evaluations.flatMap((ev) => (ev.change === "opened" && ev.incident && !alertsHeld(ev.incident) ? [ev.incident] : []));
    if (opened.length > 0) await joinOpened(this.env, opened, Date.now());
  }

  private absorb(records: readonly LogRecord[], now: number, endpoint: Endpoint, cfg: DetectionConfig): Evaluation[] {
    try {
      const { late, evaluations } = this.ctx.storage.transactionSync(() => {
        const out = this.detection.absorb(records, now, endpoint, cfg);
        this.store.addCounters({ late: out.late });
        return out;
      });
      this.logChanges(endpoint, evaluations);
      if (late > 0) log("info", "late_records", { endpoint: this.ctx.id.name ?? null, late });
      return evaluations;
    } catch (err) {
      log("error", "detection_failed", { endpoint: this.ctx.id.name ?? null, message: err instanceof Error ? err.message : String(err) });
      return [];
    }
  }

  private evaluate(endpoint: Endpoint, cfg: DetectionConfig, until: number, grace: number): Evaluation[] {
    const evaluations = this.ctx.storage.transactionSync(() => {
      const out = this.detection.evaluateUntil(until, grace, endpoint, cfg);
      if (out.length > 0) this.windows.prune(this.detection.watermark() ?? until);
      return out;
    });
    this.logChanges(endpoint, evaluations);
    return evaluations;
  }

  private logChanges(endpoint: Endpoint, evaluations: readonly Evaluation[]): void {
    for (const ev of evaluations) {
      if (ev.change && ev.change !== "updated" && ev.incident) {
        log("info", `incident_${ev.change}`, { id: ev.incident.id, service: endpoint.service, method: endpoint.method, route: endpoint.route, severity: ev.incident.severity, event_time: ev.minute });
      }
    }
  }

  private deployWithinMs(): number {
    const minutes = Number(this.env.DEPLOY_CORRELATION_MINUTES);
    return (Number.isFinite(minutes) && minutes >= 0 ? minutes : DEFAULT_DEPLOY_CORRELATION_MINUTES) * MINUTE_MS;
  }

  /**
   * Forgets the cached maintenance windows and deploys (one was added or removed through the
   * API); an incident whose alerts a window holds is looked at again by an alarm a second later.
   */
  async invalidateContext(): Promise<void> {
    this.context.invalidate();
    const open = this.detection.engineState().machine.open;
    if (open && alertsHeld(open)) await this.scheduleAlarm(Date.now() + 1000);
  }

  /**
   * At wall clock `now` (the alarm's; tests pass a later one): alerts an incident whose alerts
   * were held by a maintenance window that no longer covers it, and records the reminder of an
   * open CRITICAL when one is due. Returns when to come back (null: nothing to follow).
   */
  async followUp(now = Date.now()): Promise<number | null> {
    const endpoint = this.endpoint();
    const before = this.detection.engineState().machine.open;
    if (!endpoint || !before) return null;
    // The windows are read (D1 at most every 30 s) only while an incident's alerts are held.
    const { windows } = alertsHeld(before) ? await this.context.get(endpoint.service, now) : { windows: [] };
    const minutes = reminderMinutes(this.env.ALERT_REMINDER_MINUTES);
    return this.ctx.storage.transactionSync(() => {
      const open = this.detection.engineState().machine.open;
      const released = releaseHeld(open, windows, now);
      if (released) {
        this.detection.replaceOpen(released);
        this.outbox.enqueue({ incident_id: released.id, event: "incident.opened", severity: released.severity, service: released.service }, now);
        log("info", "incident_maintenance_released", { id: released.id, service: released.service, maintenance_id: released.maintenance_id ?? null });
      }
      const current = released ?? open;
      if (!current) return null;
      // Held: look again when the window ends (a deletion or a new window notifies the object).
      if (alertsHeld(current)) return coveringWindow(windows, current, now)?.ends_at ?? now + MINUTE_MS;
      const due = nextReminderAt(current, this.outbox.lastAlertAt(current.id), minutes);
      if (due === null) return null;
      if (due > now) return due;
      this.outbox.enqueue({ incident_id: current.id, event: "incident.reminder", severity: current.severity, service: current.service }, now);
      return now + minutes * MINUTE_MS;
    });
  }

  private flushDelayMs(): number {
    const ms = Number(this.env.FLUSH_DELAY_MS);
    return Number.isFinite(ms) && ms >= 0 ? ms : DEFAULT_FLUSH_DELAY_MS;
  }

  /** Makes sure an alarm fires at `at` or earlier (`keepPending`: only when none is pending). */
  private async scheduleAlarm(at: number, keepPending = false): Promise<void> {
    if (this.alarmAt !== null && (this.alarmAt <= at || keepPending)) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || (current > at && !keepPending)) {
      await this.setAlarmCounted(at);
      this.alarmAt = at;
    } else {
      this.alarmAt = current;
    }
  }

  /**
   * Moves buffered records to D1 in batches (on failure keeps them and retries with backoff),
   * copies detection results to D1, and closes minutes on the wall clock while live.
   */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    this.meter.add({ do_requests: 1 });
    if (this.reevaluating) {
      await this.scheduleAlarm(Date.now() + 1000);
      return;
    }
    const due = await this.flushDue();
    if (!due.ok) return;
    await this.publishQuarantine();
    const now = Date.now();
    this.detection.markBacklog(this.buffer.backlog(), this.archiveBacklog());
    this.detection.markMetrics(this.requestMetrics());
    const endpoint = this.endpoint();
    if (!this.reevaluating) await this.closeSilentMinutes(now);
    const followAt = await this.followUp(now).catch((err: unknown) => {
      log("error", "follow_up_failed", { endpoint: this.ctx.id.name ?? null, message: err instanceof Error ? err.message : String(err) });
      return null;
    });
    const synced = await this.syncDetection();
    this.persistWindows(now);
    this.pruneBuffer(now);
    // Alerts go out after the incidents are in D1 (messages carry the row as the API shows it).
    const alertsAt = synced ? await this.outbox.run(Date.now()).catch((err: unknown) => this.alertsFailed(err)) : null;
    // Every reason to come back, and one alarm for the earliest (each setAlarm is a row written).
    const at = Date.now();
    const wants: (number | null)[] = [alertsAt, followAt];
    // Counters waiting for their publish, and windows changed since the last persist.
    wants.push(this.detection.countsDueAt());
    if (this.windows.changed()) wants.push(this.windowsPersistedAt + WINDOWS_PERSIST_MS);
    // What waits on purpose (the minute's flush, the R2 pass's minute) comes back then, not at once (no alarm loop).
    if (this.archive && this.buffer.archiveBacklog() > 0) wants.push(Math.max(this.archiveRetryAt, this.archiveDueAt(at), due.resumeAt));
    if (this.buffer.backlog() > 0) wants.push(due.resumeAt);
    else if (!synced) wants.push(at + flushBackoffMs(this.syncFailures));
    // Live: come back at the next minute boundary to close minutes on the wall clock.
    else if (endpoint && this.detection.isLive(now)) wants.push(Math.floor(now / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
    const next = wants.filter((w): w is number => w !== null);
    if (next.length > 0) await this.scheduleAlarm(Math.max(at, Math.min(...next)));
  }

  /**
   * Closes minutes on the wall clock `now` when the endpoint is live but its records stopped, so
   * that silence is evaluated (the alarm calls it every minute; tests call it with a later clock).
   */
  async closeSilentMinutes(now: number): Promise<void> {
    const endpoint = this.endpoint();
    if (!endpoint || !this.detection.isLive(now)) return;
    const [cfg] = await Promise.all([this.detection.config(endpoint, now), this.context.get(endpoint.service, now)]);
    try {
      await this.joinGroups(this.evaluate(endpoint, cfg, now, ALARM_GRACE_MS));
    } catch (err) {
      log("error", "detection_failed", { endpoint: this.ctx.id.name ?? null, message: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Which records of a flush get a raw row in D1: the service's `raw_logs`, the endpoint's latency objective, D1's size. */
  private async samplingPolicy(): Promise<SamplingPolicy | null> {
    const endpoint = this.endpoint();
    if (!endpoint) return ALL_RECORDS;
    const [directory, size, cfg] = await Promise.all([
      serviceDirectory(this.env).catch(() => null),
      currentD1Size(this.logsDb, this.meter, this.env.D1_MAX_BYTES),
      this.detection.config(endpoint),
    ]);
    return samplingPolicy(directory?.byName.get(endpoint.service)?.raw_logs, this.detection.latencyObjectiveMs(cfg), size.state);
  }

  /** The policy of a flush of what is buffered (every record when nothing is: no D1 read). */
  private async policyIfPending(): Promise<SamplingPolicy | null> {
    const pending = this.buffer.backlog() > 0 || (this.archive !== null && this.buffer.archiveBacklog() > 0);
    return pending ? this.samplingPolicy() : ALL_RECORDS;
  }

  /**
   * The alarm's flush at wall clock `now` (tests pass a later one to reach the minute's flush):
   * an endpoint that samples (flush-cadence.ts) writes through to R2 and flushes to D1 only the
   * chunks added before the last minute boundary plus grace, others everything. `resumeAt`: when
   * to come back for what stays buffered (the next minute's flush when it waits on purpose, now
   * when the budget ran out); `ok` false when D1 failed (a retry is scheduled).
   */
  async flushDue(now = Date.now()): Promise<{ ok: boolean; resumeAt: number }> {
    const policy = await this.policyIfPending();
    const cut = flushCut(now);
    const wait = waitsForMinute(policy);
    this.waitingForMinute = wait;
    const before = wait ? (this.buffer.firstSeqAddedFrom(cut) ?? undefined) : undefined;
    const archiveDue = this.archiveDueAt(now);
    const archived = archiveDue <= now ? await this.writeThroughArchive(before, now) : false;
    const flushed = await this.flush(policy, before);
    // One row for the marks of both, whatever the number of batches and passes.
    this.buffer.save(Date.now());
    await this.writeCappedSummaries();
    if (flushed === "failed") return { ok: false, resumeAt: now };
    if (wait && archived && flushed === "done") return { ok: true, resumeAt: nextMinuteFlushAt(now) };
    return { ok: true, resumeAt: flushed === "done" && !archived ? Math.max(Date.now(), this.archiveDueAt(now)) : Date.now() };
  }

  /**
   * Writes the summary rows of the hours flushed at the D1 cap from the hour windows (see
   * capped-summaries.ts); a failure keeps them for the next flush.
   */
  private async writeCappedSummaries(): Promise<void> {
    const endpoint = this.endpoint();
    if (this.cappedHours.size === 0 || !endpoint) return;
    const hours = [...this.cappedHours];
    try {
      const cfg = await this.detection.config(endpoint);
      const now = Date.now();
      const rows = hours.flatMap((start) => {
        const w = this.windows.hour(start);
        return w && w.count > 0 ? [hourSummaryRow(endpoint, w, cfg, now)] : [];
      });
      await writeHourSummaries(this.logsDb, rows);
      for (const h of hours) this.cappedHours.delete(h);
    } catch (err) {
      log("error", "capped_summaries_failed", { endpoint: this.ctx.id.name ?? null, hours: hours.length, message: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Whether the last flush found this endpoint flushing once a minute (tests and stats). */
  async flushesPerMinute(): Promise<boolean> {
    return this.waitingForMinute;
  }

  /**
   * Flushes the chunks before `beforeSeq` (all by default) until they are in D1 ("done") or the
   * budget is spent ("more"); "failed" when D1 failed (a retry is scheduled).
   */
  private async flush(policy: SamplingPolicy | null, beforeSeq?: number): Promise<"done" | "more" | "failed"> {
    const started = Date.now();
    while (Date.now() - started < FLUSH_BUDGET_MS) {
      const batch = this.buffer.nextBatch(beforeSeq);
      if (batch.keys.length === 0) {
        // Only chunks without stored rows (sampled out, duplicates): nothing to send, move past them.
        this.buffer.markFlushed(batch.end, [], Date.now());
        return "done";
      }
      const failuresSoFar = Number(this.store.get("consecutive_flush_failures") ?? 0);
      const outcome = await flushBatch(this.logsDb, batch, Date.now(), failuresSoFar, policy);
      // D1 at its cap took no raw row: the summaries of these hours come from the windows.
      if (policy === null) for (const body of batch.bodies) this.cappedHours.add(Math.floor(Number((JSON.parse(body) as unknown[])[ROW_TIMESTAMP]) / HOUR_MS) * HOUR_MS);
      if (outcome.kind === "failed") {
        const failures = failuresSoFar + 1;
        const retryIn = flushBackoffMs(failures);
        const flushedAt = Date.now();
        // Rows committed one by one before D1 filled up are in D1: the watermark moves past the
        // leading ones (later ones are sent again, and D1 ignores a re-sent key).
        const written = new Set(outcome.written);
        let prefix = 0;
        while (prefix < batch.keys.length && written.has(batch.keys[prefix] ?? "")) prefix++;
        this.ctx.storage.transactionSync(() => {
          if (prefix > 0) this.buffer.markFlushed(RecordBuffer.positionAfter(batch, prefix), [], flushedAt, prefix);
          this.buffer.save(flushedAt);
          this.store.set("consecutive_flush_failures", String(failures));
          this.store.addCounters({ flush_failures: 1 });
          if (outcome.full && this.store.get("storage_full_since") === null) this.store.set("storage_full_since", String(flushedAt));
        });
        log("error", outcome.full ? "d1_full" : "d1_flush_failed", {
          endpoint: this.ctx.id.name ?? null,
          records: batch.keys.length - prefix,
          consecutive_failures: failures,
          retry_in_ms: retryIn,
          message: outcome.error instanceof Error ? outcome.error.message : String(outcome.error),
        });
        this.alarmAt = Date.now() + retryIn;
        await this.setAlarmCounted(this.alarmAt);
        return "failed";
      }
      const poisoned = outcome.kind === "isolated" ? outcome.poisoned : [];
      const flushed = batch.keys.length - poisoned.length;
      const flushedAt = Date.now();
      this.ctx.storage.transactionSync(() => {
        // The mark, the count and the time travel in one row, saved once per flush (see record-buffer.ts).
        this.buffer.markFlushed(batch.end, poisoned, flushedAt, flushed);
        this.store.addCounters({ quarantined: poisoned.length });
        if (failuresSoFar !== 0) this.store.set("consecutive_flush_failures", "0");
        if (this.store.get("storage_full_since") !== null) this.store.delete("storage_full_since");
        if (poisoned.length > 0) this.markQuarantineChanged();
      });
      for (const p of poisoned) {
        log("error", "d1_record_quarantined", { endpoint: this.ctx.id.name ?? null, record_key: p.key, message: p.error });
      }
    }
    return "more";
  }

  /** When the next write-through pass is due at clock `now`: ARCHIVE_EVERY_MS after the last put, or now when many records (or none) wait. */
  private archiveDueAt(now: number): number {
    if (this.archive === null || this.archivedAt === 0) return now;
    const due = this.archivedAt + ARCHIVE_EVERY_MS;
    // Chunks without records (duplicates only) cost no put: their pass only moves the mark.
    const waiting = this.buffer.archiveBacklog();
    return due <= now || waiting === 0 || waiting >= ARCHIVE_EAGER_RECORDS ? now : due;
  }

  /**
   * Writes the buffered chunks the archive has not taken to R2 (see archive-through.ts), pass by
   * pass within the budget. A failure keeps them (they are not pruned before R2 took them), is
   * counted and logged, and backs the write-through off; D1 flushes go on meanwhile. Only the
   * chunks before `beforeSeq` (all by default); true when they are all in R2 (or nothing is bound).
   */
  private async writeThroughArchive(beforeSeq?: number, now = Date.now()): Promise<boolean> {
    const bucket = this.archive;
    if (!bucket) return true;
    if (Date.now() < this.archiveRetryAt) return false;
    const started = Date.now();
    while (Date.now() - started < FLUSH_BUDGET_MS) {
      const pass = this.buffer.nextArchiveBatch(ARCHIVE_PASS_BYTES, ARCHIVE_PASS_CHUNKS, beforeSeq);
      if (pass.next === pass.from) return true;
      if (pass.rows.length > 0) this.archivedAt = now;
      const failuresSoFar = Number(this.store.get("consecutive_archive_failures") ?? 0);
      try {
        if (!this.archiveMarked && this.store.get("write_through_marked") === null) {
          await markWriteThrough(bucket, Date.now());
          this.store.set("write_through_marked", "1");
        }
        this.archiveMarked = true;
        const put = pass.rows.length > 0 ? await writeThrough(bucket, pass.rows, pass.from, this.ctx.id.toString()) : { objects: 0, bytes: 0 };
        this.meter.add({ r2_bytes_written: put.bytes });
        // Saved with the D1 mark at the end of the flush, or before the next pass.
        this.buffer.markArchived(pass.next, pass.rows.length);
        if (failuresSoFar !== 0) this.store.set("consecutive_archive_failures", "0");
      } catch (err) {
        const failures = failuresSoFar + 1;
        this.archiveRetryAt = Date.now() + flushBackoffMs(failures);
        this.ctx.storage.transactionSync(() => {
          this.store.set("consecutive_archive_failures", String(failures));
          this.store.addCounters({ archive_failures: 1 });
        });
        log("error", "archive_write_through_failed", {
          endpoint: this.ctx.id.name ?? null,
          records: this.buffer.archiveBacklog(),
          consecutive_failures: failures,
          retry_in_ms: this.archiveRetryAt - Date.now(),
          message: err instanceof Error ? err.message : String(err),
        });
        await this.scheduleAlarm(this.archiveRetryAt);
        return false;
      }
    }
    return false;
  }

  /** Deletes the buffer's chunks D1 and R2 took before the dedup window, folding their counts into `counters` (the alarm runs it; tests call it with a later clock). */
  pruneBuffer(now = Date.now()): void {
    const pruned = this.ctx.storage.transactionSync(() => {
      const out = this.buffer.prune(now, this.absorbed.below);
      this.store.fold(out.counts);
      return out;
    });
    this.buffer.forget(pruned.keys);
    this.store.unpend(pruned.counts);
  }

  /** Copies the quarantine's size to D1's index when it changed; a failure is retried by a later alarm. */
  private async publishQuarantine(): Promise<void> {
    const endpoint = this.endpoint();
    const token = this.store.get("quarantine_unpublished");
    if (!endpoint || token === null) return;
    try {
      await publishQuarantineCount(this.logsDb, endpoint, this.quarantine.count(), Date.now());
      // A change made while D1 was written (a flush or a replay in between) keeps the flag.
      if (this.store.get("quarantine_unpublished") === token) this.store.delete("quarantine_unpublished");
      this.store.set("quarantine_indexed", "1");
    } catch (err) {
      log("error", "quarantine_publish_failed", { endpoint: this.ctx.id.name ?? null, message: err instanceof Error ? err.message : String(err) });
      await this.scheduleAlarm(Date.now() + 30_000);
    }
  }

  /** Quarantined rows in key order after `afterKey` (`GET /v1/control/quarantine`). */
  async quarantined(afterKey: string | null, limit: number): Promise<QuarantinedRecord[]> {
    return this.quarantine.list(afterKey, limit);
  }

  /**
   * Tries the quarantined rows again (`POST /v1/control/quarantine/replay`): rows D1 takes leave
   * the quarantine, rows it refuses again stay with the new error; a full D1 stops the replay and
   * leaves every remaining row as it was.
   */
  async replayQuarantine(identity: Endpoint): Promise<ReplayResult> {
    this.store.setIdentity(identity);
    let replayed = 0;
    let failed = 0;
    let storage: "ok" | "full" = "ok";
    let after: string | null = null;
    while (replayed + failed < MAX_REPLAY_ROWS) {
      const batch = this.quarantine.batch(after, REPLAY_BATCH);
      const last = batch.keys[batch.keys.length - 1];
      if (last === undefined) break;
      const outcome = await writeRowByRow(this.logsDb, batch, Date.now());
      const written = outcome.kind === "written" ? batch.keys : outcome.written;
      const refused = outcome.kind === "isolated" ? outcome.poisoned : [];
      this.ctx.storage.transactionSync(() => {
        this.quarantine.settle(written, refused);
        this.store.addCounters({ flushed: written.length, replayed: written.length });
        this.markQuarantineChanged();
      });
      replayed += written.length;
      failed += refused.length;
      if (outcome.kind === "failed") {
        storage = "full";
        if (this.store.get("storage_full_since") === null) this.store.set("storage_full_since", String(Date.now()));
        break;
      }
      after = last;
    }
    await this.publishQuarantine();
    log("info", "quarantine_replayed", { endpoint: this.ctx.id.name ?? null, replayed, failed, remaining: this.quarantine.count() });
    return { replayed, failed, remaining: this.quarantine.count(), storage };
  }

  private alertsFailed(err: unknown): number {
    log("error", "alerts_failed", { endpoint: this.ctx.id.name ?? null, message: err instanceof Error ? err.message : String(err) });
    return Date.now() + 30_000;
  }

  /** Asks for the incident's AI summary before its first alert, waiting at most AI_ALERT_WAIT_MS. */
  private async summarizeBeforeAlert(incidentId: string): Promise<void> {
    await summarizeIncident(this.env, incidentId, { timeoutMs: AI_ALERT_WAIT_MS }).catch(() => undefined);
  }

  /** Runs the alert outbox as the alarm does, at clock `now` (tests use a later clock to reach retries). */
  async deliverAlerts(now = Date.now()): Promise<number | null> {
    return this.outbox.run(now);
  }

  /** An incident changed outside the evaluation (a later AI summary): announce it as an update. */
  async announceUpdate(incidentId: string): Promise<void> {
    const incident = this.detection.incidents(50).find((i) => i.id === incidentId);
    if (!incident) return;
    this.outbox.enqueue({ incident_id: incident.id, event: "incident.updated", severity: incident.severity, service: incident.service }, Date.now());
    await this.scheduleAlarm(Date.now());
  }

  /**
   * Publishes what changed as the alarm does, at clock `now` (tests pass a later one to reach the
   * counters' next publish, see PUBLISH_EVERY_MS); false when D1 failed.
   */
  async publish(now = Date.now()): Promise<boolean> {
    this.detection.markBacklog(this.buffer.backlog(), this.archiveBacklog());
    this.detection.markMetrics(this.requestMetrics());
    return this.syncDetection(now);
  }

  /** Copies changed incidents and health to D1 (in rounds of 100 incidents); false when D1 failed. */
  private async syncDetection(now = Date.now()): Promise<boolean> {
    for (let round = 0; round < 20 && this.detection.needsSync(now); round++) {
      try {
        const cost = this.costNow();
        // The cost is persisted with the publish (a write that happens anyway), as published.
        await this.detection.sync({ eventsProcessed: this.store.counter("received"), backlog: this.buffer.backlog(), archiveBacklog: this.archiveBacklog(), metrics: this.requestMetrics(), cost }, now);
        this.syncFailures = 0;
      } catch (err) {
        this.syncFailures++;
        log("error", "detection_sync_failed", { endpoint: this.ctx.id.name ?? null, failures: this.syncFailures, message: err instanceof Error ? err.message : String(err) });
        return false;
      }
    }
    return !this.detection.needsSync(now);
  }

  /** Records waiting for the R2 write-through (undefined without an ARCHIVE bucket). */
  private archiveBacklog(): number | undefined {
    return this.archive ? this.buffer.archiveBacklog() : undefined;
  }

  /** The monotonic request counters, as published for GET /metrics. */
  private requestMetrics(): RequestMetrics {
    return requestMetricsFrom(this.store.counters(REQUEST_COUNTER_NAMES));
  }

  /** Counters, backlog and the last hour of minute buckets. */
  async stats(): Promise<EndpointStats> {
    const lastFlush = this.lastFlushAt();
    return buildStats(this.windows, {
      service: this.store.get("service"),
      method: this.store.get("method"),
      route: this.store.get("route"),
      received: this.store.counter("received"),
      handoffs: this.store.counter("handoffs"),
      duplicates: this.store.counter("duplicates"),
      late: this.store.counter("late"),
      flushed: this.store.counter("flushed"),
      backlog: this.buffer.backlog(),
      archived: this.store.counter("archived"),
      archive_backlog: this.archive ? this.buffer.archiveBacklog() : 0,
      archive_failures: this.store.counter("archive_failures"),
      consecutive_archive_failures: Number(this.store.get("consecutive_archive_failures") ?? 0),
      buffered_chunks: this.buffer.chunks(),
      flush_failures: this.store.counter("flush_failures"),
      quarantined: this.store.counter("quarantined"),
      in_quarantine: this.quarantine.count(),
      storage: this.store.get("storage_full_since") === null ? "ok" : "full",
      consecutive_flush_failures: Number(this.store.get("consecutive_flush_failures") ?? 0),
      last_flush_at: lastFlush,
      last_event_at: this.store.counter("last_event_at") || null,
    });
  }

  /** Stats plus detection: health, active signals, baselines, windows as time series, recent incidents. */
  async detail(): Promise<EndpointDetail> {
    return buildDetail(await this.stats(), this.windows, this.detection);
  }

  /** The top consumers and locations over the last `window` of event time (`GET /v1/endpoints/.../breakdown`). */
  async breakdown(window: BreakdownWindow): Promise<BreakdownView> {
    this.meter.add({ do_requests: 1 });
    const watermark = this.detection.watermark();
    if (watermark === null) return breakdownView(window, null, emptyBreakdown());
    const range = breakdownRange(BREAKDOWN_WINDOWS[window], watermark);
    return breakdownView(window, range, this.windows.breakdown(range.grain, range.from, range.to));
  }

  /** The hours in [from, to) where `name` is among the top groups of `dimension` (`GET /v1/summaries?consumer=`). */
  async groupHours(dimension: Dimension, name: string, from: number, to: number): Promise<GroupBucket[]> {
    this.meter.add({ do_requests: 1 });
    return groupBuckets(this.windows.breakdownBuckets(HOUR_MS, from, to), dimension, name);
  }

  /** The buckets of the first plan the windows cover (`GET /v1/timeseries`), or none: index null. */
  async series(plans: readonly SourcePlan[]): Promise<{ watermark: number | null; index: number | null; points: SeriesPoint[] }> {
    const watermark = this.detection.watermark();
    const index = plans.findIndex((p) => windowsCover(p.grain, p.from, watermark));
    const plan = plans[index];
    return { watermark, index: plan ? index : null, points: plan ? this.windows.series(plan.grain, plan.from, plan.to) : [] };
  }

  /**
   * Recomputes windows, baselines, health and incidents from the endpoint's logs in D1 (or the R2
   * archive) over the last `lookbackMinutes` of event time (after flushing what is buffered), then publishes.
   */
  async reevaluate(lookbackMinutes: number, identity: Endpoint, source: ReplaySource = "d1"): Promise<ReevaluateResult> {
    this.store.setIdentity(identity);
    const endpoint = this.endpoint() ?? identity;
    if (this.reevaluating) throw new Error("a re-evaluation of this endpoint is already running");
    // What is buffered goes to R2 (a replay from the archive reads it) and to D1 first.
    if (source === "archive") await this.writeThroughArchive();
    await this.flush(await this.policyIfPending());
    this.buffer.save(Date.now());
    this.reevaluating = true;
    this.heldBack = [];
    const before = this.detection.engineState();
    let result: ReevaluateResult;
    try {
      this.detection.invalidateConfig();
      const [cfg] = await Promise.all([this.detection.config(endpoint), this.context.get(endpoint.service)]);
      const bindings = { db: this.logsDb, archive: this.env.ARCHIVE };
      result = await reevaluateEndpoint(this.ctx.storage, bindings, source, this.detection, endpoint, cfg, lookbackMinutes);
    } catch (err) {
      // Keep managing the incident that was open, so it cannot be stranded open in D1.
      this.ctx.storage.transactionSync(() => this.detection.restoreOpenIncident(before));
      throw err;
    } finally {
      this.reevaluating = false;
      const held = this.heldBack;
      const heldSeqs = this.heldSeqs;
      this.heldBack = [];
      this.heldSeqs = [];
      if (held.length > 0) this.absorb(held, Date.now(), endpoint, await this.detection.config(endpoint));
      for (const seq of heldSeqs) this.unabsorbed.delete(seq);
      this.persistWindows(Date.now(), true);
    }
    await this.syncDetection();
    await this.scheduleAlarm(Date.now() + this.flushDelayMs());
    return result;
  }
}
