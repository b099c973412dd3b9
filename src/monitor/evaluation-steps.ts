/**
 * Steps the endpoint object's detection applies to each minute's evaluation before it is stored:
 * an incident that opened is annotated (maintenance, deploy), an open incident's concentration
 * is refreshed, and named consumers' objectives are judged from the window breakdowns. Pure: the
 * window reads are given as functions.
 */
import type { DetectionConfig } from "../detect/config";
import type { Evaluation } from "../detect/evaluate";
import type { Incident } from "../detect/incident";
import type { ConsumerBreach } from "../detect/types";
import { concentrations, failureMetrics } from "../breakdown/concentration";
import { surgeSources } from "../breakdown/surge-sources";
import { CONSUMER_WINDOW_MINUTES, consumerBreaches, namedConsumers } from "../breakdown/objectives";
import type { Breakdown } from "../breakdown/top-k";
import { explain } from "../detect/explain";
import { MINUTE_MS } from "./minute-counts";

/** An open incident's concentration is refreshed this often (minutes), over its last CONCENTRATION_SPAN minutes. */
const CONCENTRATION_EVERY = 5;
const CONCENTRATION_SPAN = 30;
/** A surge's sources are judged against the SURGE_BEFORE_MINUTES ending SURGE_LEAD_MINUTES before it opened (a surge runs 5 minutes before it is one). */
const SURGE_BEFORE_MINUTES = 60;
const SURGE_LEAD_MINUTES = 10;

/** The evaluation with its incident replaced by `incident`, in the machine that carries it on too. */
function withIncident(ev: Evaluation, incident: Incident): Evaluation {
  const machine =
    ev.state.machine.open?.id === incident.id ? { ...ev.state.machine, open: incident } : ev.state.machine;
  return { ...ev, incident, state: { ...ev.state, machine } };
}

/** The evaluation with an incident it opened annotated by `annotate`. */
export function annotated(ev: Evaluation, annotate: (incident: Incident) => Incident): Evaluation {
  if (ev.change !== "opened" || !ev.incident) return ev;
  const incident = annotate(ev.incident);
  return incident === ev.incident ? ev : withIncident(ev, incident);
}

/**
 * The evaluation with its open incident's concentration (which consumers or locations its
 * failures come from, src/breakdown) refreshed: when it opens, escalates or re-opens, and every
 * CONCENTRATION_EVERY minutes meanwhile, over its last CONCENTRATION_SPAN minutes.
 * `breakdown(from, to)` reads the minute windows' breakdown of [from, to).
 */
export function located(ev: Evaluation, breakdown: (from: number, to: number) => Breakdown): Evaluation {
  const incident = ev.incident;
  if (!incident || incident.status !== "open") return ev;
  if (ev.change === "updated" && (ev.minute / MINUTE_MS) % CONCENTRATION_EVERY !== 0) return ev;
  const metrics = failureMetrics(incident.signals);
  const surge = incident.signals.some((s) => s.kind === "traffic_surge");
  if (metrics.length === 0 && !surge) return ev;
  const from = Math.max(incident.opened_at, ev.minute - (CONCENTRATION_SPAN - 1) * MINUTE_MS);
  const during = breakdown(from, ev.minute + MINUTE_MS);
  const found = concentrations(during, metrics);
  if (surge) {
    // Who sends it: each group's requests per minute against the hour before the surge opened.
    const beforeTo = incident.opened_at - SURGE_LEAD_MINUTES * MINUTE_MS;
    const before = {
      breakdown: breakdown(beforeTo - SURGE_BEFORE_MINUTES * MINUTE_MS, beforeTo),
      minutes: SURGE_BEFORE_MINUTES,
    };
    found.push(...surgeSources({ breakdown: during, minutes: (ev.minute + MINUTE_MS - from) / MINUTE_MS }, before));
  }
  if (JSON.stringify(found) === JSON.stringify(incident.concentration ?? [])) return ev;
  const next: Incident = { ...incident, concentration: found };
  next.explanation = explain(next);
  return withIncident(ev, next);
}

/**
 * The breaches of named consumers' objectives at each minute of `first`..`last`, over the
 * CONSUMER_WINDOW_MINUTES ending with it, from the breakdowns already stored in the window rows:
 * `buckets(from, to)` reads each minute bucket's breakdown of [from, to), once for all the
 * minutes, and not at all when no consumer has an objective.
 */
export function consumerJudge(
  first: number,
  last: number,
  cfg: DetectionConfig,
  buckets: (from: number, to: number) => { start: number; breakdown: Breakdown }[],
): (minute: number) => ConsumerBreach[] {
  const objectives = cfg.consumer_objectives ?? {};
  const names = new Set(Object.keys(objectives));
  if (names.size === 0) return () => [];
  const span = CONSUMER_WINDOW_MINUTES * MINUTE_MS;
  const read = buckets(first - span + MINUTE_MS, last + MINUTE_MS);
  return (minute) => {
    const inWindow = read.filter((b) => b.start > minute - span && b.start <= minute).map((b) => b.breakdown);
    return consumerBreaches(namedConsumers(inWindow, names), objectives, cfg);
  };
}
