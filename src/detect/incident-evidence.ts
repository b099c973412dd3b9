/**
 * An incident's evidence and timeline, folded from the signals of each minute it is judged on:
 * one piece of evidence per signal kind (and per consumer and objective for consumer objectives)
 * holding its latest and worst values, and one timeline entry per change of the incident, the
 * first and the latest TIMELINE_MAX kept. `info` signals are shown on the endpoint, never kept. Pure.
 */
import type { Evidence, Incident, TimelineEntry } from "./incident-types";
import type { Signal } from "./types";

/** Timeline entries kept per incident (the first and the latest ones). */
export const TIMELINE_MAX = 50;

/** One piece of evidence per signal kind, and per consumer and objective for consumer objectives. */
const evidenceKey = (e: Pick<Signal, "kind" | "consumer" | "objective">): string =>
  e.consumer === undefined ? e.kind : `${e.kind} ${e.objective ?? ""} ${e.consumer}`;

/** Folds the signals of the minute starting at `minute` into `list`, oldest evidence first. */
export function mergeEvidence(list: Evidence[], signals: readonly Signal[], minute: number): Evidence[] {
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
/** `i`'s timeline with the change at `at` added (the kinds of `signals` active at it). */
export function addTimelineEntry(
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
