/**
 * The incident state machine of one endpoint, stepped once per evaluated minute of event time.
 * At most one incident is open per endpoint (no duplicates for one ongoing problem): it opens on
 * CRITICAL at once, or on WARNING that holds for WARNING_PERSIST_MINUTES in a row (so one odd
 * minute wakes nobody); it escalates to CRITICAL when that comes, gathers the evidence of every
 * signal while it lasts, and resolves only after a run of clean minutes (hysteresis).
 * `opened_at` is the event time of the first minute that fired. Ids are derived from the
 * endpoint and `opened_at`, so a replay of the same traffic yields the same incidents.
 * No flapping: an endpoint that goes bad again within REOPEN_WINDOW_MINUTES of a resolution
 * re-opens the same incident (its severity set by the new trouble) instead of opening another,
 * and each re-open doubles the clean minutes the next resolution needs (hysteresis, up to
 * RESOLVE_AFTER_MAX_MINUTES). The incident's timeline records every change. Pure.
 */
import { explain } from "./explain";
import type { Concentration } from "../breakdown/concentration";
import type { Assessment } from "./health";
import type { Figures, Signal } from "./types";

export const WARNING_PERSIST_MINUTES = 2;
/** Default clean minutes before an incident is resolved (configurable per service). */
export const RESOLVE_AFTER_CLEAN_MINUTES = 15;
/** A resolved incident re-opens when its endpoint goes bad again within this many minutes of event time. */
export const REOPEN_WINDOW_MINUTES = 60;
/** The most clean minutes a re-opened incident needs before it resolves again. */
export const RESOLVE_AFTER_MAX_MINUTES = 60;
/** Timeline entries kept per incident (the first and the latest ones). */
export const TIMELINE_MAX = 50;

/** One change of an incident, in event time. */
export interface TimelineEntry {
  at: number;
  change: "opened" | "escalated" | "resolved" | "reopened";
  severity: "WARNING" | "CRITICAL";
  /** Signal kinds active at the change (none for a resolution). */
  signals: Signal["kind"][];
}

export interface Evidence {
  kind: Signal["kind"];
  family: Signal["family"];
  level: Signal["level"];
  unit: Signal["unit"];
  window: string;
  /** Latest and most extreme observed values. */
  observed: number;
  peak: number;
  /** Baseline when the signal first fired, and its threshold. */
  baseline: number | null;
  threshold: number | null;
  first_event_at: number;
  last_event_at: number;
  /** `consumer_objective` only: the consumer, its objective and its requests in the window. */
  consumer?: string;
  objective?: Signal["objective"];
  requests?: number;
  /** `traffic_surge` only: the highest share of 429s that rose with the surge, and its usual share. */
  rate_limited?: Signal["rate_limited"];
}

export interface Incident {
  id: string;
  service: string;
  method: string;
  route: string;
  severity: "WARNING" | "CRITICAL";
  status: "open" | "resolved";
  opened_at: number;
  escalated_at: number | null;
  resolved_at: number | null;
  /** End of the last minute (event time) the incident was judged on. */
  last_event_at: number;
  clean_minutes: number;
  severity_score: number;
  health_score: number;
  action: Assessment["action"];
  signals: Evidence[];
  /** Figures when the incident opened and now, for the explanation. */
  figures_at_open: Figures;
  figures: Figures;
  explanation: string;
  /**
   * Set by the endpoint object when the incident opens, never by the machine (which carries them
   * along): it opened inside a maintenance window (alerts held until the window ends, then
   * `maintenance_released_at`), and the deploy it started shortly after. Absent in older state.
   */
  in_maintenance?: boolean;
  maintenance_id?: string | null;
  maintenance_released_at?: number | null;
  deploy?: IncidentDeploy | null;
  /** Consumers or locations the failures are concentrated on (src/breakdown), set by the endpoint object. */
  concentration?: Concentration[];
  /** Every change, oldest first (absent on incidents stored before the timeline existed). */
  timeline?: TimelineEntry[];
  /** Times the incident re-opened after a resolution. */
  reopened_count?: number;
}

/** The deploy an incident started shortly after (src/deploys). */
export interface IncidentDeploy {
  id: string;
  version: string;
  at: number;
  description: string | null;
}

export interface Machine {
  open: Incident | null;
  /** Start of the current run of WARNING minutes, and its length. */
  streak_start: number | null;
  streak: number;
  /** Evidence of that run, so that an incident it opens starts from its first minute (absent in older stored state). */
  pending?: Evidence[];
  /** The last resolved incident while it may still re-open (absent in older stored state). */
  resolved?: Incident | null;
}

export const emptyMachine = (): Machine => ({ open: null, streak_start: null, streak: 0 });

export type Change = "opened" | "escalated" | "updated" | "resolved" | "reopened" | null;

export interface Endpoint {
  service: string;
  method: string;
  route: string;
}

/** A short stable hash of an endpoint's identity (FNV-1a, base 36). */
function endpointHash(e: Endpoint): string {
  let h = 0x811c9dc5;
  for (const ch of `${e.service} ${e.method} ${e.route}`) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36);
}

export function incidentId(e: Endpoint, openedAt: number): string {
  return `inc_${openedAt.toString(36)}_${endpointHash(e)}`;
}

/** One piece of evidence per signal kind, and per consumer and objective for consumer objectives. */
const evidenceKey = (e: Pick<Signal, "kind" | "consumer" | "objective">): string =>
  e.consumer === undefined ? e.kind : `${e.kind} ${e.objective ?? ""} ${e.consumer}`;

function mergeEvidence(list: Evidence[], signals: readonly Signal[], minute: number): Evidence[] {
  const byKind = new Map(list.map((e) => [evidenceKey(e), { ...e }]));
  for (const s of signals) {
    if (s.level === "info") continue;
    const e = byKind.get(evidenceKey(s));
    // For a traffic drop or stop the worst is the lowest.
    const bigger = s.kind === "traffic_drop" || s.kind === "traffic_stop" ? Math.min : Math.max;
    if (e) {
      e.observed = s.observed;
      e.peak = bigger(e.peak, s.observed);
      e.last_event_at = minute + 60_000;
      e.window = s.window;
      if (s.requests !== undefined) e.requests = s.requests;
      if (s.rate_limited && (!e.rate_limited || s.rate_limited.share >= e.rate_limited.share))
        e.rate_limited = s.rate_limited;
    } else {
      const who =
        s.consumer === undefined ? {} : { consumer: s.consumer, objective: s.objective, requests: s.requests };
      byKind.set(evidenceKey(s), {
        kind: s.kind,
        family: s.family,
        level: s.level,
        unit: s.unit,
        window: s.window,
        observed: s.observed,
        peak: s.observed,
        baseline: s.baseline,
        threshold: s.threshold,
        first_event_at: minute,
        last_event_at: minute + 60_000,
        ...who,
        ...(s.rate_limited ? { rate_limited: s.rate_limited } : {}),
      });
    }
  }
  return [...byKind.values()].sort((a, b) => a.first_event_at - b.first_event_at);
}

function addEntry(
  i: Incident,
  change: TimelineEntry["change"],
  at: number,
  signals: readonly Signal[],
): TimelineEntry[] {
  const kinds = [...new Set(signals.filter((s) => s.level !== "info").map((s) => s.kind))];
  const list = [
    ...(i.timeline ?? []),
    { at, change, severity: i.severity, signals: change === "resolved" ? [] : kinds },
  ];
  return list.length <= TIMELINE_MAX ? list : [list[0] as TimelineEntry, ...list.slice(list.length - TIMELINE_MAX + 1)];
}

/** Clean minutes an incident needs before it resolves: doubled by each re-open, up to the cap. */
export function resolveAfterFor(incident: Pick<Incident, "reopened_count">, resolveAfter: number): number {
  const reopens = incident.reopened_count ?? 0;
  return reopens === 0
    ? resolveAfter
    : Math.min(resolveAfter * 2 ** reopens, Math.max(resolveAfter, RESOLVE_AFTER_MAX_MINUTES));
}

/** The resolved incident that may still re-open at `minute`, if any. */
function reopenable(m: Machine, minute: number): Incident | null {
  const r = m.resolved ?? null;
  return r !== null && r.resolved_at !== null && minute < r.resolved_at + REOPEN_WINDOW_MINUTES * 60_000 ? r : null;
}

export interface StepInput {
  endpoint: Endpoint;
  minute: number;
  assessment: Assessment;
  signals: readonly Signal[];
  figures: Figures;
  resolveAfter: number;
}

/** Steps the machine by one evaluated minute. */
export function stepIncident(
  m: Machine,
  input: StepInput,
): { machine: Machine; change: Change; incident: Incident | null } {
  const { minute, assessment: a, endpoint } = input;
  const open = m.open;
  if (!open) {
    const resolved = reopenable(m, minute);
    const keep = resolved ? { resolved } : {};
    if (a.health === "NORMAL") return { machine: { ...emptyMachine(), ...keep }, change: null, incident: null };
    const streakStart = m.streak_start ?? minute;
    const streak = m.streak + 1;
    const evidence = mergeEvidence(m.pending ?? [], input.signals, minute);
    if (a.health === "WARNING" && streak < WARNING_PERSIST_MINUTES) {
      return {
        machine: { open: null, streak_start: streakStart, streak, pending: evidence, ...keep },
        change: null,
        incident: null,
      };
    }
    if (resolved) {
      // Bad again soon after the resolution: the same incident, open again at the new severity.
      const again: Incident = {
        ...resolved,
        severity: a.health,
        status: "open",
        resolved_at: null,
        last_event_at: minute + 60_000,
        clean_minutes: 0,
        severity_score: a.severity_score,
        health_score: a.health_score,
        action: a.action,
        signals: mergeEvidence(resolved.signals, input.signals, minute),
        figures: input.figures,
        reopened_count: (resolved.reopened_count ?? 0) + 1,
      };
      again.timeline = addEntry(again, "reopened", streakStart, input.signals);
      again.explanation = explain(again);
      return { machine: { open: again, streak_start: null, streak: 0 }, change: "reopened", incident: again };
    }
    const incident: Incident = {
      id: incidentId(endpoint, streakStart),
      ...endpoint,
      severity: a.health,
      status: "open",
      opened_at: streakStart,
      escalated_at: null,
      resolved_at: null,
      last_event_at: minute + 60_000,
      clean_minutes: 0,
      severity_score: a.severity_score,
      health_score: a.health_score,
      action: a.action,
      signals: evidence,
      figures_at_open: input.figures,
      figures: input.figures,
      explanation: "",
    };
    incident.timeline = addEntry(incident, "opened", streakStart, input.signals);
    incident.explanation = explain(incident);
    return { machine: { open: incident, streak_start: null, streak: 0 }, change: "opened", incident };
  }
  const next: Incident = { ...open, last_event_at: minute + 60_000, figures: input.figures };
  let change: Change = "updated";
  if (a.health === "NORMAL") {
    next.clean_minutes = open.clean_minutes + 1;
    if (next.clean_minutes >= resolveAfterFor(open, input.resolveAfter)) {
      next.status = "resolved";
      next.resolved_at = minute + 60_000;
      next.timeline = addEntry(next, "resolved", minute + 60_000, []);
      change = "resolved";
    }
  } else {
    next.clean_minutes = 0;
    next.signals = mergeEvidence(open.signals, input.signals, minute);
    next.severity_score = Math.max(open.severity_score, a.severity_score);
    next.health_score = Math.min(open.health_score, a.health_score);
    next.action = a.action;
    if (a.health === "CRITICAL" && open.severity === "WARNING") {
      next.severity = "CRITICAL";
      next.escalated_at = minute;
      next.timeline = addEntry(next, "escalated", minute, input.signals);
      change = "escalated";
    }
  }
  next.explanation = explain(next);
  if (change === "resolved") return { machine: { ...emptyMachine(), resolved: next }, change, incident: next };
  return { machine: { open: next, streak_start: null, streak: 0 }, change, incident: next };
}
