/**
 * Detection inside the endpoint Durable Object: evaluates each minute once it is closed (by the
 * event-time clock, event-clock.ts), and keeps the engine state and the incidents in the object's
 * SQLite (incident-rows.ts); what changed is copied to D1 by detection-publisher.ts, with the
 * settings cached by detection-settings.ts. This class ties them together and keeps the API the
 * object's jobs call.
 */
import type { DetectionConfig } from "../detect/config";
import { evaluateMinute, type EngineState, type Evaluation } from "../detect/evaluate";
import type { Endpoint, Incident } from "../detect/incident";
import { emptyMetricState } from "../detect/metric";
import { withObjective } from "../detect/objective";
import { errorMessage } from "../lib/errors";
import { log } from "../lib/log";
import type { RequestMetrics } from "../metrics/request-counters";
import { DetectionPublisher } from "./detection-publisher";
import { loadEngineState, saveEngineState } from "./engine-state-rows";
import { DetectionSettingsCache } from "./detection-settings";
import { EventClock, RECORD_GRACE_MS } from "./event-clock";
import { annotated, consumerJudge, located } from "./evaluation-steps";
import { IncidentRows } from "./incident-rows";
import { HOUR_HORIZON_MS, MINUTE_MS, type WindowRecord } from "./minute-counts";
import type { ObjectMeta } from "./object-meta";
import { storedProbeStreak, trackProbes } from "./probe-streak";
import { baselinesOf, type EndpointState, type PublishedCounters } from "./publish";
import type { EndpointWindows } from "./windows";

/** At most this many minutes are evaluated in one go; a longer gap is skipped over. */
export const MAX_CATCHUP_MINUTES = 360;
/** Records are added and evaluated in slices of this much event time. */
const SLICE_MS = 15 * MINUTE_MS;

export class DetectionRunner {
  private readonly clock: EventClock;
  private readonly settings: DetectionSettingsCache;
  private readonly incidentRows: IncidentRows;
  private readonly publisher: DetectionPublisher;

  constructor(
    sql: SqlStorage,
    private readonly store: ObjectMeta,
    private readonly windows: EndpointWindows,
    db: () => D1Database,
    waitUntil: (p: Promise<unknown>) => void,
    /** Called inside the evaluation's transaction for every incident change (the alert outbox). */
    private readonly announce: (
      incident: Incident,
      change: "opened" | "escalated" | "resolved" | "reopened",
    ) => void = () => undefined,
    /** Called inside the evaluation for an incident that just opened; what it returns is stored (maintenance, deploy). */
    private readonly annotateOpened: (incident: Incident) => Incident = (i) => i,
  ) {
    this.clock = new EventClock(store);
    this.settings = new DetectionSettingsCache(db, waitUntil);
    this.incidentRows = new IncidentRows(sql);
    this.publisher = new DetectionPublisher(sql, store, this.incidentRows, db);
  }

  /** The event-time clock: the newest record's time, capped at the wall clock for live traffic (null: none yet). */
  watermark(): number | null {
    return this.clock.watermark();
  }

  /** Writes the clock to `meta` (an unchanged value writes no row). Call inside the transaction that persists the windows. */
  persistClock(): void {
    this.clock.persist();
  }

  /** Whether the silence alarm should keep closing minutes on wall-clock time. */
  isLive(now: number): boolean {
    return this.clock.isLive(now);
  }

  /** The endpoint's resolved settings (D1 `detection_settings`, cached: see detection-settings.ts). */
  config(endpoint: Endpoint, now = Date.now()): Promise<DetectionConfig> {
    return this.settings.config(endpoint, now);
  }

  /** Forgets cached settings (after they changed). */
  invalidateConfig(): void {
    this.settings.invalidate();
  }

  /**
   * The endpoint's latency objective under `cfg`: the learnt one once there is one. A stored engine
   * state that does not parse gives the configured objective (logged): the flush's sampling, the
   * windows and a wake's replay go on; only the evaluation fails loudly, naming the key, until the
   * state is repaired (engine-state-rows.ts).
   */
  latencyObjectiveMs(cfg: DetectionConfig): number {
    let objective;
    try {
      objective = this.engineState().detectors.objective;
    } catch (err) {
      log("error", "engine_state_unreadable", { message: errorMessage(err) });
      return cfg.slo.latency_ms;
    }
    return withObjective(cfg, objective).slo.latency_ms;
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
      this.clock.advance(newest, firstMinute, now);
      const watermark = this.watermark() ?? newest;
      // Synthetic probes are judged on their own: a probe is not traffic (it must not hide a
      // traffic stop, nor count as a request in the rates).
      const probes = slice.filter((r) => r.source === "probe");
      if (probes.length > 0) trackProbes(this.store, probes);
      const traffic = probes.length > 0 ? slice.filter((r) => r.source !== "probe") : slice;
      // Requests count as slow against the learnt objective once there is one.
      late += this.windows.add(traffic, watermark, this.latencyObjectiveMs(cfg));
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
    this.clock.advance(newest, Math.floor(oldest / MINUTE_MS) * MINUTE_MS, addedAt);
    const watermark = this.watermark() ?? newest;
    const traffic = records.filter((r) => r.source !== "probe" && r.timestamp >= watermark - HOUR_HORIZON_MS);
    this.windows.add(traffic, watermark, this.latencyObjectiveMs(cfg));
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
    const probe = storedProbeStreak(this.store);
    const consumers = consumerJudge(minute, closable, cfg, (from, to) =>
      this.windows.breakdownBuckets(MINUTE_MS, from, to),
    );
    const breakdown = (from: number, to: number) => this.windows.breakdown(MINUTE_MS, from, to);
    for (; minute <= closable; minute += MINUTE_MS) {
      const snapshot = { ...view.snapshot(minute), probe, consumers: consumers(minute) };
      const ev = located(annotated(evaluateMinute(state, snapshot, cfg, endpoint), this.annotateOpened), breakdown);
      state = ev.state;
      if (ev.incident) this.putIncident(ev.incident);
      if (ev.incident && ev.change !== null && ev.change !== "updated") this.announce(ev.incident, ev.change);
      out.push(ev);
    }
    saveEngineState(this.store, state, state.season !== profileBefore);
    this.store.set("last_evaluated", String(closable));
    const last = out[out.length - 1];
    if (last) this.publisher.stage(last, endpoint, baselinesOf(state, last.minute));
    return out;
  }

  /** Replaces the open incident (the same id) in the machine and in storage, outside the evaluation (a maintenance release). Call inside a transaction. */
  replaceOpen(incident: Incident): void {
    const state = this.engineState();
    if (state.machine.open?.id !== incident.id) return;
    saveEngineState(this.store, { ...state, machine: { ...state.machine, open: incident } }, false);
    this.putIncident(incident);
  }

  /** The engine state (engine-state-rows.ts). */
  engineState(): EngineState {
    return loadEngineState(this.store);
  }

  /** Stores an incident that was resolved outside the evaluation (re-evaluation) and announces it. */
  closeIncident(incident: Incident): void {
    this.putIncident(incident);
    this.announce(incident, "resolved");
  }

  /** Stores an incident in the object and marks it for the copy to D1. */
  putIncident(incident: Incident): void {
    this.incidentRows.put(incident);
  }

  /** The newest incidents the object holds, newest first. */
  incidents(limit = 50): Incident[] {
    return this.incidentRows.list(limit);
  }

  /** The endpoint's state after its last evaluation (null: none yet). */
  endpointState(): EndpointState | null {
    return this.publisher.endpointState();
  }

  /** Whether D1 is behind (changed incidents or state not yet written, or counters due at `now`). */
  needsSync(now = Date.now()): boolean {
    return this.publisher.needsSync(now);
  }

  /** When counters that changed are due for publishing (null: nothing waits). */
  countsDueAt(): number | null {
    return this.publisher.countsDueAt();
  }

  /** Notes a D1 backlog that changed since it was last published (for the status API). */
  markBacklog(backlog: number, archiveBacklog?: number): void {
    this.publisher.markBacklog(backlog, archiveBacklog);
  }

  /** Notes request counters that changed since they were last published (see DetectionPublisher). */
  markMetrics(metrics: RequestMetrics): void {
    this.publisher.markMetrics(metrics);
  }

  /** Copies changed incidents and the endpoint's state to D1; throws when D1 fails (the caller retries). */
  sync(counters: PublishedCounters, now = Date.now()): Promise<void> {
    return this.publisher.sync(counters, now);
  }

  /** The cost meter as last published (null: never, or before it was kept with the publish). */
  publishedCost(): unknown {
    return this.publisher.publishedCost();
  }

  /** After a failed re-evaluation: the incident open before it is managed again by the machine. */
  restoreOpenIncident(before: EngineState): void {
    if (!before.machine.open) return;
    const state = this.engineState();
    saveEngineState(this.store, { ...state, machine: { ...state.machine, open: before.machine.open } }, false);
  }

  /**
   * Forgets windows, engine state and the clock (for re-evaluation); open incidents are kept for
   * the caller to settle, and the daily profile too (up to 7 days, more than a replay reaches; its
   * hours are not learnt twice, see `last_hour`).
   */
  reset(): void {
    this.windows.clear();
    for (const key of ["last_evaluated", "engine_state"]) this.store.delete(key);
    this.clock.reset();
  }
}
