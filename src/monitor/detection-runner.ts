/**
 * Detection inside the endpoint Durable Object: keeps the event-time clock (the watermark, the
 * newest record's time), evaluates each minute once it is closed, keeps the engine state and
 * the incidents in the object's SQLite, and copies what changed to D1 (incidents, the endpoint's
 * health row). A minute closes when a record at least a minute and a grace later arrives; when
 * an endpoint's records stop coming while it was live (its records near wall-clock time), the
 * alarm closes minutes on wall-clock time instead, so silence is noticed. A replay of old traffic
 * (far behind the wall clock) never runs on wall-clock time, so it gives the same incidents as
 * the live traffic did.
 */
import { resolveDetection, type DetectionConfig, type DetectionSettings } from "../detect/config";
import { emptyEngineState, evaluateMinute, type EngineState, type Evaluation } from "../detect/evaluate";
import type { Endpoint, Incident } from "../detect/incident";
import { PROBE_FAILURES } from "../detect/detectors";
import type { ProbeStreak } from "../detect/types";
import { log } from "../lib/log";
import { withTimeout } from "../lib/timeout";
import { loadDetectionSettings } from "../services/detection-store";
import { emptyMetricState } from "../detect/metric";
import { withObjective } from "../detect/objective";
import type { SeasonProfile } from "../detect/season";
import { HOUR_HORIZON_MS, MINUTE_MS, type WindowRecord } from "./minute-counts";
import {
  backlogMark,
  publishState,
  type EndpointState,
  type Baselines,
  type PublishedCounters,
  baselinesOf,
} from "./publish";
import type { RequestMetrics } from "../metrics/request-counters";
import type { ObjectMeta } from "./object-meta";
import type { EndpointWindows } from "./windows";
import { concentrations, failureMetrics } from "../breakdown/concentration";
import { explain } from "../detect/explain";
import { CONSUMER_WINDOW_MINUTES, consumerBreaches, namedConsumers } from "../breakdown/objectives";
import type { ConsumerBreach } from "../detect/types";
import { parseStored, ProbeStreakSchema } from "./stored-json";

/** A minute closes this long after its end (event time), for records that arrive slightly out of order. */
export const RECORD_GRACE_MS = MINUTE_MS;
/** On wall-clock time (silence), a minute closes this long after its end. */
export const ALARM_GRACE_MS = 3 * MINUTE_MS;
/**
 * An endpoint is live when its newest record was at most this far behind the wall clock on
 * arrival; less than the alarm's grace, so that a live endpoint's records reach their minute
 * before the wall clock closes it.
 */
export const LIVE_LAG_MS = 2 * MINUTE_MS;
/** After this long without a live record the silence alarm stops. */
export const LIVE_EXPIRY_MS = 3 * 24 * 60 * MINUTE_MS;
/** At most this many minutes are evaluated in one go; a longer gap is skipped over. */
export const MAX_CATCHUP_MINUTES = 360;
const CONFIG_TTL_MS = 30_000;
/** A cold object waits at most this long for its settings before using the defaults. */
const CONFIG_WAIT_MS = 1_000;
/** An open incident's concentration is refreshed this often (minutes), over its last CONCENTRATION_SPAN minutes. */
const CONCENTRATION_EVERY = 5;
const CONCENTRATION_SPAN = 30;
/**
 * Counters and backlog alone (no evaluation changed the state) are published at most this often:
 * a publish is a D1 write and rows in the object, and a busy endpoint flushes several times a
 * minute. A changed state (every closed minute) or incident is published at the next alarm.
 */
export const PUBLISH_EVERY_MS = 60_000;
/** Records are added and evaluated in slices of this much event time. */
const SLICE_MS = 15 * MINUTE_MS;

export const DETECTION_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS incidents (id TEXT PRIMARY KEY, status TEXT NOT NULL, body TEXT NOT NULL, dirty INTEGER NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS incidents_dirty ON incidents (dirty) WHERE dirty = 1`,
];

export class DetectionRunner {
  private settings: { value: DetectionSettings | null; loadedAt: number } | null = null;
  private refreshing = false;
  /**
   * The event-time clock and the last live arrival, ahead of `meta` (write-behind like the
   * windows: every hand-off moves them, `persistClock` writes them with the windows). Loaded from
   * `meta` on first use; undefined: not loaded yet.
   */
  private clock: { watermark: number | null; liveAt: number } | undefined;
  /** Counters or backlog changed since their last publish (in memory: a wake publishes them again anyway). */
  private countsChanged = false;
  /** When this object last published (0: not since it woke). */
  private publishedAt = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly store: ObjectMeta,
    private readonly windows: EndpointWindows,
    private readonly db: () => D1Database,
    private readonly waitUntil: (p: Promise<unknown>) => void,
    /** Called inside the evaluation's transaction for every incident change (the alert outbox). */
    private readonly announce: (
      incident: Incident,
      change: "opened" | "escalated" | "resolved" | "reopened",
    ) => void = () => undefined,
    /** Called inside the evaluation for an incident that just opened; what it returns is stored (maintenance, deploy). */
    private readonly annotateOpened: (incident: Incident) => Incident = (i) => i,
  ) {}

  watermark(): number | null {
    return this.clockNow().watermark;
  }

  private clockNow(): { watermark: number | null; liveAt: number } {
    if (!this.clock) {
      const w = this.store.get("watermark");
      this.clock = { watermark: w === null ? null : Number(w), liveAt: Number(this.store.get("live_at") ?? 0) };
    }
    return this.clock;
  }

  /** Writes the clock to `meta` (an unchanged value writes no row). Call inside the transaction that persists the windows. */
  persistClock(): void {
    const clock = this.clockNow();
    if (clock.watermark !== null) this.store.set("watermark", String(clock.watermark));
    if (clock.liveAt > 0) this.store.set("live_at", String(clock.liveAt));
  }

  /**
   * The endpoint's resolved settings (D1 `detection_settings`). A cached value is used as is
   * while fresh, and while stale too (a refresh runs meanwhile); only a cold object waits for D1,
   * at most CONFIG_WAIT_MS. A failed load keeps the defaults (or the last value) for the TTL.
   */
  async config(endpoint: Endpoint, now = Date.now()): Promise<DetectionConfig> {
    const cached = this.settings;
    if (!cached) {
      await this.loadSettings(endpoint.service, now);
    } else if (now - cached.loadedAt > CONFIG_TTL_MS && !this.refreshing) {
      this.refreshing = true;
      this.waitUntil(this.loadSettings(endpoint.service, now).finally(() => (this.refreshing = false)));
    }
    return resolveDetection(this.settings?.value ?? null, endpoint.method, endpoint.route);
  }

  private async loadSettings(service: string, now: number): Promise<void> {
    try {
      const stored = await withTimeout(loadDetectionSettings(this.db(), service), CONFIG_WAIT_MS);
      this.settings = { value: stored?.settings ?? null, loadedAt: now };
    } catch (err) {
      log("warn", "detection_settings_unreadable", {
        service,
        message: err instanceof Error ? err.message : String(err),
      });
      this.settings = { value: this.settings?.value ?? null, loadedAt: now };
    }
  }

  /** The endpoint's latency objective under `cfg`: the learnt one once there is one. */
  latencyObjectiveMs(cfg: DetectionConfig): number {
    return withObjective(cfg, this.engineState().detectors.objective).slo.latency_ms;
  }

  /** Forgets cached settings (after they changed). */
  invalidateConfig(): void {
    this.settings = null;
  }

  /**
   * Moves the event-time clock after records up to `newest` were added (inside the ingest
   * transaction); `now` is the wall clock for live traffic, null for a replay from D1.
   */
  advance(newest: number, firstMinute: number, now: number | null): void {
    const clock = this.clockNow();
    const current = clock.watermark;
    // A client clock running fast must not close minutes other clients are still sending: live
    // records move the clock at most to the wall clock.
    const capped = now === null ? newest : Math.min(newest, now);
    if (current === null || capped > current) clock.watermark = capped;
    if (this.store.get("last_evaluated") === null) this.store.set("last_evaluated", String(firstMinute - MINUTE_MS));
    if (now !== null && now - Math.max(newest, current ?? 0) <= LIVE_LAG_MS) clock.liveAt = Math.max(clock.liveAt, now);
  }

  /**
   * Adds records to the windows and evaluates the minutes they close, in slices of at most
   * SLICE_MS of event time, so that a batch spanning hours (a backfill, a replay from D1) is
   * evaluated minute by minute as live traffic would be, never against windows filled from its
   * future. `now` is the wall clock for live traffic, null for a replay. Call inside a transaction.
   */
  absorb(
    records: readonly WindowRecord[],
    now: number | null,
    endpoint: Endpoint,
    cfg: DetectionConfig,
  ): { late: number; evaluations: Evaluation[] } {
    // Late: older than the 3-day horizon behind the newest event time known, this batch's included.
    const newestKnown = records.reduce((max, r) => Math.max(max, r.timestamp), this.watermark() ?? 0);
    const sorted = records
      .filter((r) => r.timestamp >= newestKnown - HOUR_HORIZON_MS)
      .sort((a, b) => a.timestamp - b.timestamp);
    let late = records.length - sorted.length;
    const first = sorted[0];
    if (!first) return { late, evaluations: [] };
    const firstMinute = Math.floor(first.timestamp / MINUTE_MS) * MINUTE_MS;
    const evaluations: Evaluation[] = [];
    for (let i = 0; i < sorted.length;) {
      const sliceEnd = (sorted[i]?.timestamp ?? 0) + SLICE_MS;
      let j = i;
      while (j < sorted.length && (sorted[j]?.timestamp ?? 0) < sliceEnd) j++;
      const slice = sorted.slice(i, j);
      const newest = slice[slice.length - 1]?.timestamp ?? first.timestamp;
      this.advance(newest, firstMinute, now);
      const watermark = this.watermark() ?? newest;
      // Synthetic probes are judged on their own: a probe is not traffic (it must not hide a
      // traffic stop, nor count as a request in the rates).
      const probes = slice.filter((r) => r.source === "probe");
      if (probes.length > 0) this.trackProbes(probes);
      const traffic = probes.length > 0 ? slice.filter((r) => r.source !== "probe") : slice;
      // Requests count as slow against the learnt objective once there is one.
      late += this.windows.add(
        traffic,
        watermark,
        withObjective(cfg, this.engineState().detectors.objective).slo.latency_ms,
      );
      evaluations.push(...this.evaluateUntil(watermark, RECORD_GRACE_MS, endpoint, cfg));
      i = j;
    }
    if (evaluations.length > 0) this.windows.prune(this.watermark() ?? first.timestamp);
    return { late, evaluations };
  }

  /**
   * Adds records again to the windows after a wake (buffer chunks the persisted windows lacked):
   * moves the clock as their hand-off did (`addedAt` its wall clock), adds the traffic, evaluates
   * nothing (the minutes they closed were evaluated then; the next hand-off or alarm goes on).
   */
  replay(records: readonly WindowRecord[], addedAt: number, cfg: DetectionConfig): void {
    const newest = records.reduce((max, r) => Math.max(max, r.timestamp), 0);
    if (newest === 0) return;
    const oldest = records.reduce((min, r) => Math.min(min, r.timestamp), newest);
    this.advance(newest, Math.floor(oldest / MINUTE_MS) * MINUTE_MS, addedAt);
    const watermark = this.watermark() ?? newest;
    const traffic = records.filter((r) => r.source !== "probe" && r.timestamp >= watermark - HOUR_HORIZON_MS);
    this.windows.add(traffic, watermark, withObjective(cfg, this.engineState().detectors.objective).slo.latency_ms);
  }

  /** Folds probe results, in event-time order, into the run of consecutive failures. */
  private trackProbes(probes: readonly WindowRecord[]): void {
    let streak = this.probeStreak();
    for (const p of [...probes].sort((a, b) => a.timestamp - b.timestamp)) {
      if (streak && p.timestamp < streak.last_at) continue;
      // The probe runner sets `error` on every failure (wrong status, no answer, body check) and
      // `inconsistent` on a body mismatch; a probe that expects a 503 and gets it has neither.
      const failed = p.inconsistent || (p.error !== undefined && p.error !== null);
      const failures = (streak?.failures ?? 0) + 1;
      streak = failed
        ? {
            failures,
            since: streak?.since ?? p.timestamp,
            reached_at: streak?.reached_at ?? (failures >= PROBE_FAILURES ? p.timestamp : null),
            last_at: p.timestamp,
            last_status: p.status,
          }
        : null;
      if (!failed) this.store.set("probe_ok_at", String(p.timestamp));
    }
    if (streak) this.store.set("probe_streak", JSON.stringify(streak));
    else this.store.delete("probe_streak");
  }

  private probeStreak(): ProbeStreak | null {
    const raw = this.store.get("probe_streak");
    return raw === null ? null : parseStored(ProbeStreakSchema, "probe_streak", raw);
  }

  /** Whether the silence alarm should keep closing minutes on wall-clock time. */
  isLive(now: number): boolean {
    const liveAt = this.clockNow().liveAt;
    return liveAt > 0 && now - liveAt <= LIVE_EXPIRY_MS;
  }

  /**
   * Evaluates every closed minute up to the clock `until` (event time): the newest record's time,
   * or the wall clock when silent. Returns the evaluations (with incident changes). Call inside a
   * transaction.
   */
  evaluateUntil(until: number, grace: number, endpoint: Endpoint, cfg: DetectionConfig): Evaluation[] {
    const lastRaw = this.store.get("last_evaluated");
    if (lastRaw === null) return [];
    const closable = Math.floor((until - grace) / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
    let minute = Number(lastRaw) + MINUTE_MS;
    if (minute > closable) return [];
    let state = this.engineState();
    const profileBefore = state.season;
    if ((closable - minute) / MINUTE_MS >= MAX_CATCHUP_MINUTES) {
      // A gap of hours without records: skip to its last hours, and learn traffic afresh (its
      // windows are empty for a reason the baseline knows nothing about).
      minute = closable - (MAX_CATCHUP_MINUTES - 1) * MINUTE_MS;
      state = { ...state, detectors: { ...state.detectors, traffic: emptyMetricState() } };
    }
    const out: Evaluation[] = [];
    // The windows and the probe streak do not change while minutes are evaluated: read them once.
    const view = this.windows.view(minute, closable);
    const probe = this.probeStreak();
    const consumers = this.consumerJudge(minute, closable, cfg);
    for (; minute <= closable; minute += MINUTE_MS) {
      const ev = this.located(
        this.annotated(
          evaluateMinute(state, { ...view.snapshot(minute), probe, consumers: consumers(minute) }, cfg, endpoint),
        ),
      );
      state = ev.state;
      if (ev.incident) this.putIncident(ev.incident);
      if (ev.incident && ev.change !== null && ev.change !== "updated") this.announce(ev.incident, ev.change);
      out.push(ev);
    }
    this.saveEngineState(state, state.season !== profileBefore);
    this.store.set("last_evaluated", String(closable));
    const last = out[out.length - 1];
    if (last) this.storeState(last, endpoint, baselinesOf(state, last.minute));
    return out;
  }

  /**
   * The breaches of named consumers' objectives at each minute of `first`..`last`, over the
   * CONSUMER_WINDOW_MINUTES ending with it, from the breakdowns already stored in the window rows
   * (read once for all the minutes; nothing is read when no consumer has an objective).
   */
  private consumerJudge(first: number, last: number, cfg: DetectionConfig): (minute: number) => ConsumerBreach[] {
    const objectives = cfg.consumer_objectives ?? {};
    const names = new Set(Object.keys(objectives));
    if (names.size === 0) return () => [];
    const span = CONSUMER_WINDOW_MINUTES * MINUTE_MS;
    const buckets = this.windows.breakdownBuckets(MINUTE_MS, first - span + MINUTE_MS, last + MINUTE_MS);
    return (minute) => {
      const inWindow = buckets.filter((b) => b.start > minute - span && b.start <= minute).map((b) => b.breakdown);
      return consumerBreaches(namedConsumers(inWindow, names), objectives, cfg);
    };
  }

  /** The evaluation with an incident it opened annotated, in the incident and in the machine that carries it on. */
  private annotated(ev: Evaluation): Evaluation {
    if (ev.change !== "opened" || !ev.incident) return ev;
    const incident = this.annotateOpened(ev.incident);
    if (incident === ev.incident) return ev;
    const machine =
      ev.state.machine.open?.id === incident.id ? { ...ev.state.machine, open: incident } : ev.state.machine;
    return { ...ev, incident, state: { ...ev.state, machine } };
  }

  /**
   * The evaluation with its open incident's concentration (which consumers or locations its
   * failures come from, src/breakdown) refreshed: when it opens, escalates or re-opens, and every
   * CONCENTRATION_EVERY minutes meanwhile, over its last CONCENTRATION_SPAN minutes.
   */
  private located(ev: Evaluation): Evaluation {
    const incident = ev.incident;
    if (!incident || incident.status !== "open") return ev;
    if (ev.change === "updated" && (ev.minute / MINUTE_MS) % CONCENTRATION_EVERY !== 0) return ev;
    const metrics = failureMetrics(incident.signals);
    if (metrics.length === 0) return ev;
    const from = Math.max(incident.opened_at, ev.minute - (CONCENTRATION_SPAN - 1) * MINUTE_MS);
    const found = concentrations(this.windows.breakdown(MINUTE_MS, from, ev.minute + MINUTE_MS), metrics);
    if (JSON.stringify(found) === JSON.stringify(incident.concentration ?? [])) return ev;
    const next: Incident = { ...incident, concentration: found };
    next.explanation = explain(next);
    const machine = ev.state.machine.open?.id === next.id ? { ...ev.state.machine, open: next } : ev.state.machine;
    return { ...ev, incident: next, state: { ...ev.state, machine } };
  }

  /** Replaces the open incident (the same id) in the machine and in storage, outside the evaluation (a maintenance release). Call inside a transaction. */
  replaceOpen(incident: Incident): void {
    const state = this.engineState();
    if (state.machine.open?.id !== incident.id) return;
    this.saveEngineState({ ...state, machine: { ...state.machine, open: incident } }, false);
    this.putIncident(incident);
  }

  /**
   * The engine state: its row, and the daily profile from a row of its own (the profile changes
   * at most once an hour, the rest every evaluation, so only the small part is rewritten).
   */
  engineState(): EngineState {
    const raw = this.store.get("engine_state");
    const state = raw === null ? emptyEngineState() : (JSON.parse(raw) as EngineState);
    const profile = this.store.get("season_profile");
    return { ...state, season: profile === null ? null : (JSON.parse(profile) as SeasonProfile) };
  }

  /** Stores the engine state; the profile's row only when `profileChanged`. */
  private saveEngineState(state: EngineState, profileChanged: boolean): void {
    const { season, ...rest } = state;
    this.store.set("engine_state", JSON.stringify(rest));
    if (profileChanged && season) this.store.set("season_profile", JSON.stringify(season));
  }

  /** Stores an incident that was resolved outside the evaluation (re-evaluation) and announces it. */
  closeIncident(incident: Incident): void {
    this.putIncident(incident);
    this.announce(incident, "resolved");
  }

  /** Stores an incident in the object and marks it for the copy to D1. */
  putIncident(incident: Incident): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO incidents (id, status, body, dirty) VALUES (?, ?, ?, 1)",
      incident.id,
      incident.status,
      JSON.stringify(incident),
    );
  }

  private storeState(ev: Evaluation, endpoint: Endpoint, baselines: Baselines): void {
    const state: EndpointState = {
      ...endpoint,
      health: ev.assessment.health,
      severity_score: ev.assessment.severity_score,
      health_score: ev.assessment.health_score,
      action: ev.assessment.action,
      signals: ev.signals,
      figures: ev.figures,
      baselines,
      open_incident_id: ev.state.machine.open?.id ?? null,
      slower_than_default_objective: baselines.objective?.slower_than_default_objective ?? false,
      evaluated_at: ev.minute,
    };
    this.store.set("endpoint_state", JSON.stringify(state));
    this.store.set("state_dirty", "1");
  }

  endpointState(): EndpointState | null {
    const raw = this.store.get("endpoint_state");
    return raw === null ? null : (JSON.parse(raw) as EndpointState);
  }

  incidents(limit = 50): Incident[] {
    return this.sql
      .exec<{ body: string }>("SELECT body FROM incidents ORDER BY id DESC LIMIT ?", limit)
      .toArray()
      .map((r) => JSON.parse(r.body) as Incident);
  }

  /** What the last publish published: the backlog mark, the request counters and the cost (one `meta` row). */
  private published(): { backlog?: string; metrics?: string } {
    const raw = this.store.get("published");
    return raw === null ? {} : (JSON.parse(raw) as { backlog?: string; metrics?: string });
  }

  /** Whether D1 is behind (changed incidents or state not yet written, or counters due at `now`). */
  needsSync(now = Date.now()): boolean {
    if (this.countsChanged && now - this.publishedAt >= PUBLISH_EVERY_MS) return true;
    return (
      this.store.get("state_dirty") === "1" ||
      this.sql.exec("SELECT 1 FROM incidents WHERE dirty = 1 LIMIT 1").toArray().length > 0
    );
  }

  /** When counters that changed are due for publishing (null: nothing waits). */
  countsDueAt(): number | null {
    return this.countsChanged ? this.publishedAt + PUBLISH_EVERY_MS : null;
  }

  /** Notes a D1 backlog that changed since it was last published (for the status API). */
  markBacklog(backlog: number, archiveBacklog?: number): void {
    if (this.published().backlog !== backlogMark(backlog, archiveBacklog) && this.store.get("endpoint_state") !== null)
      this.countsChanged = true;
  }

  /**
   * Notes request counters that changed since they were last published, so that an endpoint gone
   * idle still publishes its final counts (GET /metrics), within PUBLISH_EVERY_MS.
   */
  markMetrics(metrics: RequestMetrics): void {
    if (this.published().metrics !== JSON.stringify(metrics) && this.store.get("endpoint_state") !== null)
      this.countsChanged = true;
  }

  /** Copies changed incidents and the endpoint's state to D1; throws when D1 fails (the caller retries). */
  async sync(counters: PublishedCounters, now = Date.now()): Promise<void> {
    const dirty = this.sql
      .exec<{ id: string; body: string }>("SELECT id, body FROM incidents WHERE dirty = 1 LIMIT 100")
      .toArray();
    const stateDirty = this.store.get("state_dirty") === "1";
    const countsDue = this.countsChanged && now - this.publishedAt >= PUBLISH_EVERY_MS;
    const state = stateDirty || countsDue ? this.endpointState() : null;
    if (dirty.length === 0 && !state) return;
    await publishState(
      this.db(),
      dirty.map((d) => JSON.parse(d.body) as Incident),
      state,
      counters,
      Date.now(),
    );
    for (const d of dirty) this.sql.exec("UPDATE incidents SET dirty = 0 WHERE id = ? AND body = ?", d.id, d.body);
    if (state) {
      // One row for what was published: the backlog, the counters and the cost meter.
      this.store.set(
        "published",
        JSON.stringify({
          backlog: backlogMark(counters.backlog, counters.archiveBacklog),
          metrics: JSON.stringify(counters.metrics),
          cost: counters.cost,
        }),
      );
      this.countsChanged = false;
      // The real clock: a test's later `now` must not hold back the next publish.
      this.publishedAt = Date.now();
    }
    if (stateDirty)
      this.sql.exec(
        "UPDATE meta SET value = '0' WHERE key = 'state_dirty' AND value = '1' AND ? = (SELECT value FROM meta WHERE key = 'endpoint_state')",
        JSON.stringify(state),
      );
    // Resolved incidents are in D1 now; the object keeps only the last few.
    this.sql.exec(
      "DELETE FROM incidents WHERE dirty = 0 AND status = 'resolved' AND id NOT IN (SELECT id FROM incidents ORDER BY id DESC LIMIT 20)",
    );
  }

  /** The cost meter as last published (null: never, or before it was kept with the publish). */
  publishedCost(): unknown {
    const raw = this.store.get("published");
    return raw === null ? null : ((JSON.parse(raw) as { cost?: unknown }).cost ?? null);
  }

  /** After a failed re-evaluation: the incident open before it is managed again by the machine. */
  restoreOpenIncident(before: EngineState): void {
    if (!before.machine.open) return;
    const state = this.engineState();
    this.saveEngineState({ ...state, machine: { ...state.machine, open: before.machine.open } }, false);
  }

  /**
   * Forgets windows, engine state and the clock (for re-evaluation); open incidents are kept for
   * the caller to settle, and the daily profile too (up to 7 days, more than a replay reaches; its
   * hours are not learnt twice, see `last_hour`).
   */
  reset(): void {
    this.windows.clear();
    for (const key of ["watermark", "last_evaluated", "engine_state"]) this.store.delete(key);
    this.clock = { watermark: null, liveAt: this.clockNow().liveAt };
  }
}
