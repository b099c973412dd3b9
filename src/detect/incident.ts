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
import type { Assessment } from "./health";
import { addTimelineEntry, mergeEvidence } from "./incident-evidence";
import type { Endpoint, Evidence, Incident } from "./incident-types";
import type { Figures, Signal } from "./types";

export type { Endpoint, Evidence, Incident, IncidentDeploy, TimelineEntry } from "./incident-types";
export { TIMELINE_MAX } from "./incident-evidence";

export const WARNING_PERSIST_MINUTES = 2;
/** Default clean minutes before an incident is resolved (configurable per service). */
export const RESOLVE_AFTER_CLEAN_MINUTES = 15;
/** A resolved incident re-opens when its endpoint goes bad again within this many minutes of event time. */
export const REOPEN_WINDOW_MINUTES = 60;
/** The most clean minutes a re-opened incident needs before it resolves again. */
export const RESOLVE_AFTER_MAX_MINUTES = 60;

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

/** A short stable hash of an endpoint's identity (FNV-1a, base 36). */
function endpointHash(e: Endpoint): string {
  let h = 0x811c9dc5;
  for (const ch of `${e.service} ${e.method} ${e.route}`) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36);
}

/** An incident's id, from its endpoint and opening minute: a replay of the same traffic yields the same ids. */
export function incidentId(e: Endpoint, openedAt: number): string {
  return `inc_${openedAt.toString(36)}_${endpointHash(e)}`;
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
      again.timeline = addTimelineEntry(again, "reopened", streakStart, input.signals);
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
    incident.timeline = addTimelineEntry(incident, "opened", streakStart, input.signals);
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
      next.timeline = addTimelineEntry(next, "resolved", minute + 60_000, []);
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
      next.timeline = addTimelineEntry(next, "escalated", minute, input.signals);
      change = "escalated";
    }
  }
  next.explanation = explain(next);
  if (change === "resolved") return { machine: { ...emptyMachine(), resolved: next }, change, incident: next };
  return { machine: { open: next, streak_start: null, streak: 0 }, change, incident: next };
}
