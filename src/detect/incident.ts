/**
 * The incident state machine of one endpoint, stepped once per evaluated minute of event time.
 * At most one incident is open per endpoint (no duplicates for one ongoing problem): it opens on
 * CRITICAL at once, or on WARNING that holds for WARNING_PERSIST_MINUTES in a row (so one odd
 * minute wakes nobody); it escalates to CRITICAL when that comes, gathers the evidence of every
 * signal while it lasts, and resolves only after a run of clean minutes (hysteresis).
 * `opened_at` is the event time of the first minute that fired. Ids are derived from the
 * endpoint and `opened_at`, so a replay of the same traffic yields the same incidents. Pure.
 */
import { explain } from "./explain";
import type { Assessment } from "./health";
import type { Figures, Signal } from "./types";

export const WARNING_PERSIST_MINUTES = 2;
/** Default clean minutes before an incident is resolved (configurable per service). */
export const RESOLVE_AFTER_CLEAN_MINUTES = 15;

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
}

export const emptyMachine = (): Machine => ({ open: null, streak_start: null, streak: 0 });

export type Change = "opened" | "escalated" | "updated" | "resolved" | null;

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

function mergeEvidence(list: Evidence[], signals: readonly Signal[], minute: number): Evidence[] {
  const byKind = new Map(list.map((e) => [e.kind, { ...e }]));
  for (const s of signals) {
    if (s.level === "info") continue;
    const e = byKind.get(s.kind);
    const bigger = s.unit === "per_minute" ? Math.min : Math.max;
    if (e) {
      e.observed = s.observed;
      e.peak = bigger(e.peak, s.observed);
      e.last_event_at = minute + 60_000;
      e.window = s.window;
    } else {
      byKind.set(s.kind, {
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
      });
    }
  }
  return [...byKind.values()].sort((a, b) => a.first_event_at - b.first_event_at);
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
export function stepIncident(m: Machine, input: StepInput): { machine: Machine; change: Change; incident: Incident | null } {
  const { minute, assessment: a, endpoint } = input;
  const open = m.open;
  if (!open) {
    if (a.health === "NORMAL") return { machine: emptyMachine(), change: null, incident: null };
    const streakStart = m.streak_start ?? minute;
    const streak = m.streak + 1;
    const evidence = mergeEvidence(m.pending ?? [], input.signals, minute);
    if (a.health === "WARNING" && streak < WARNING_PERSIST_MINUTES) {
      return { machine: { open: null, streak_start: streakStart, streak, pending: evidence }, change: null, incident: null };
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
    incident.explanation = explain(incident);
    return { machine: { open: incident, streak_start: null, streak: 0 }, change: "opened", incident };
  }
  const next: Incident = { ...open, last_event_at: minute + 60_000, figures: input.figures };
  let change: Change = "updated";
  if (a.health === "NORMAL") {
    next.clean_minutes = open.clean_minutes + 1;
    if (next.clean_minutes >= input.resolveAfter) {
      next.status = "resolved";
      next.resolved_at = minute + 60_000;
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
      change = "escalated";
    }
  }
  next.explanation = explain(next);
  if (change === "resolved") return { machine: emptyMachine(), change, incident: next };
  return { machine: { open: next, streak_start: null, streak: 0 }, change, incident: next };
}
