/**
 * Deterministic findings of a range analysis (`POST /v1/analysis`): what changed, where and how
 * much, comparing each endpoint's figures over the lookback with the same length of time before
 * it, plus the incidents of the range and the endpoints that are unhealthy now. The same lines as
 * detection are used, with the default settings (5% 5xx, 2 s p95, minimum volumes, burn rates
 * against the default SLOs), averaged over the whole range: a range analysis reports, it does not
 * page. The overall severity comes from these findings only; the AI narrative that may follow
 * reads them and changes nothing. Pure.
 */
import { DEFAULT_DETECTION } from "../detect/config";
import type { Health } from "../detect/types";
import { HOUR_MS } from "../lib/time";
import { latencyFinding, rateFinding, trafficFinding, type Draft } from "./finding-rules";
import {
  endpointKey,
  labelOf,
  type AnalysisInput,
  type Finding,
  type FindingKind,
  type FindingSeverity,
} from "./finding-types";

export type {
  AnalysisInput,
  Finding,
  FindingKind,
  FindingSeverity,
  HealthFact,
  IncidentFact,
  PeriodFigures,
} from "./finding-types";

export const MAX_FINDINGS = 50;

/**
 * The compared periods: the lookback widened to whole hours (the summaries' grain), the open hour
 * included, and the same number of hours just before it.
 */
export function analysisRange(
  now: number,
  lookbackMinutes: number,
): { from: number; to: number; beforeFrom: number; beforeTo: number } {
  const from = Math.floor((now - lookbackMinutes * 60_000) / HOUR_MS) * HOUR_MS;
  const span = Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS - from;
  return { from, to: now, beforeFrom: from - span, beforeTo: from };
}

const rank: Record<FindingSeverity, number> = { CRITICAL: 2, WARNING: 1, INFO: 0 };
const KIND_ORDER: FindingKind[] = [
  "incident",
  "endpoint_health",
  "error_rate",
  "latency_p95",
  "silent_failures",
  "inconsistencies",
  "traffic",
];

const iso = (t: number): string => new Date(t).toISOString().slice(0, 16).replace("T", " ");

/** The findings, most severe and most affecting first, the overall severity, and how much of the traffic could be compared (0..1). */
export function analyse(input: AnalysisInput): { findings: Finding[]; severity: Health; coverage: number } {
  const c = input.config ?? DEFAULT_DETECTION;
  const drafts: Draft[] = [];
  const before = new Map(input.before.map((f) => [endpointKey(f), f]));
  const after = new Map(input.after.map((f) => [endpointKey(f), f]));
  const keys = new Set([...before.keys(), ...after.keys()]);
  let comparable = 0;
  for (const key of keys) {
    const a = after.get(key);
    const b = before.get(key);
    const id = a ?? b;
    if (!id) continue;
    const label = labelOf(id);
    if (a && b && a.count >= c.min_requests && b.count >= c.min_requests) comparable++;
    if (a) {
      for (const kind of ["error_rate", "silent_failures", "inconsistencies"] as const) {
        const f = rateFinding(kind, a, b, c, label);
        if (f) drafts.push(f);
      }
      const l = latencyFinding(a, b, c, label);
      if (l) drafts.push(l);
    }
    const t = trafficFinding(a, b, input, label, id);
    if (t) drafts.push(t);
  }
  for (const i of input.incidents) {
    const open = i.status === "open";
    const severity: FindingSeverity = open ? (i.severity === "CRITICAL" ? "CRITICAL" : "WARNING") : "INFO";
    const when = open
      ? `open since ${iso(i.opened_at)} UTC`
      : `from ${iso(i.opened_at)} to ${iso(i.resolved_at ?? i.opened_at)} UTC, resolved`;
    drafts.push({
      kind: "incident",
      service: i.service,
      method: i.method,
      route: i.route,
      metric: "incident",
      unit: null,
      before: null,
      after: null,
      severity,
      impact: open ? 1 : 0,
      incident_id: i.id,
      text: `${i.severity} incident ${i.id} on ${labelOf(i)} ${when}: ${i.explanation}`,
    });
  }
  for (const h of input.health) {
    if (h.health !== "WARNING" && h.health !== "CRITICAL") continue;
    drafts.push({
      kind: "endpoint_health",
      service: h.service,
      method: h.method,
      route: h.route,
      metric: "health_score",
      unit: "score",
      before: null,
      after: h.health_score,
      severity: h.health,
      impact: 100 - h.health_score,
      text: `${labelOf(h)} is ${h.health} now (health score ${h.health_score}/100)`,
    });
  }
  drafts.sort(
    (x, y) =>
      rank[y.severity] - rank[x.severity] ||
      KIND_ORDER.indexOf(x.kind) - KIND_ORDER.indexOf(y.kind) ||
      y.impact - x.impact ||
      endpointKey(x).localeCompare(endpointKey(y)),
  );
  const findings = drafts.slice(0, MAX_FINDINGS).map(({ impact: _impact, incident_id, ...f }): Finding => {
    const change = f.before === null || f.after === null ? null : f.after - f.before;
    return { ...f, change, text: f.text.endsWith(".") ? f.text : `${f.text}.`, incident_id: incident_id ?? null };
  });
  const worst = drafts.reduce((m, d) => Math.max(m, rank[d.severity]), 0);
  const severity: Health = worst === 2 ? "CRITICAL" : worst === 1 ? "WARNING" : "NORMAL";
  return { findings, severity, coverage: keys.size === 0 ? 0 : comparable / keys.size };
}

const HINTS: Record<FindingKind, (f: Finding, label: string) => string> = {
  incident: (f, label) => `Follow incident ${f.incident_id ?? ""} on ${label} until it resolves`,
  endpoint_health: (_f, label) => `Watch ${label}: its detection health is not normal`,
  error_rate: (_f, label) => `Check recent deploys, dependencies and error logs of ${label} for the 5xx`,
  latency_p95: (_f, label) => `Look for slow dependencies, saturation or lock contention behind ${label}`,
  silent_failures: (_f, label) => `Check why ${label} answers 2xx with empty bodies`,
  inconsistencies: (_f, label) => `Check ${label}: response bodies contradict their status codes`,
  traffic: (_f, label) => `Check that clients can still reach ${label} (routing, DNS, auth, upstream callers)`,
};

/**
 * Next steps from the findings alone (WARNING and above, one per endpoint and kind; the health
 * of an endpoint that already has one adds nothing), for when there is no AI narrative.
 */
export function deterministicRecommendations(findings: readonly Finding[], max = 5): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const f of findings) {
    const endpoint = endpointKey(f);
    if (
      f.severity === "INFO" ||
      seen.has(`${endpoint} ${f.kind}`) ||
      (f.kind === "endpoint_health" && seen.has(endpoint))
    )
      continue;
    seen.add(`${endpoint} ${f.kind}`);
    seen.add(endpoint);
    out.push(`${HINTS[f.kind](f, labelOf(f))}.`);
    if (out.length >= max) break;
  }
  return out;
}
