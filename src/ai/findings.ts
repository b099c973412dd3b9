/**
 * Deterministic findings of a range analysis (`POST /v1/analysis`): what changed, where and how
 * much, comparing each endpoint's figures over the lookback with the same length of time before
 * it, plus the incidents of the range and the endpoints that are unhealthy now. The same lines as
 * detection are used, with the default settings (5% 5xx, 2 s p95, minimum volumes, burn rates
 * against the default SLOs), averaged over the whole range: a range analysis reports, it does not
 * page. The overall severity comes from these findings only; the AI narrative that may follow
 * reads them and changes nothing. Pure.
 */
import { DEFAULT_DETECTION, type DetectionConfig } from "../detect/config";
import type { Health } from "../detect/types";
import { HOUR_MS } from "../lib/time";

export type FindingSeverity = "INFO" | "WARNING" | "CRITICAL";
export type FindingKind =
  "incident" | "endpoint_health" | "error_rate" | "latency_p95" | "silent_failures" | "inconsistencies" | "traffic";

export interface Finding {
  kind: FindingKind;
  service: string;
  method: string;
  route: string;
  metric: string;
  unit: "ratio" | "ms" | "per_minute" | "score" | null;
  before: number | null;
  after: number | null;
  /** after − before, in the metric's unit (null when either is unknown). */
  change: number | null;
  severity: FindingSeverity;
  text: string;
  incident_id: string | null;
}

/** One endpoint's totals over one period, from the hourly summaries. */
export interface PeriodFigures {
  service: string;
  method: string;
  route: string;
  count: number;
  status_5xx: number;
  silent: number;
  inconsistent: number;
  p95_ms: number | null;
  /** Share of requests slower than the latency SLO's threshold. */
  slow_share: number | null;
}

export interface IncidentFact {
  id: string;
  service: string;
  method: string;
  route: string;
  severity: string;
  status: string;
  opened_at: number;
  resolved_at: number | null;
  explanation: string;
}

export interface HealthFact {
  service: string;
  method: string;
  route: string;
  health: string;
  health_score: number;
}

export interface AnalysisInput {
  before: PeriodFigures[];
  after: PeriodFigures[];
  beforeMinutes: number;
  afterMinutes: number;
  incidents: IncidentFact[];
  health: HealthFact[];
  config?: DetectionConfig;
}

/** Latency percentiles need this many requests in a period (as in detection). */
const MIN_LATENCY_REQUESTS = 50;
/** Traffic changes are judged when the earlier period held at least this many requests. */
const MIN_TRAFFIC_REQUESTS = 100;
/** Burn rate of a page (SRE workbook: 2% of a 30-day budget in an hour). */
const PAGE_BURN = 14.4;
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

const pct = (v: number): string => `${v * 100 >= 10 ? (v * 100).toFixed(0) : (v * 100).toFixed(1)}%`;
const ms = (v: number): string => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const perMin = (v: number): string => `${v >= 10 ? Math.round(v) : v.toFixed(1)}/min`;
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

type Draft = Omit<Finding, "change" | "incident_id"> & { incident_id?: string | null; impact: number };

function rateFinding(
  kind: "error_rate" | "silent_failures" | "inconsistencies",
  a: PeriodFigures,
  b: PeriodFigures | undefined,
  c: DetectionConfig,
  label: string,
): Draft | null {
  const bad = (f: PeriodFigures) =>
    kind === "error_rate" ? f.status_5xx : kind === "silent_failures" ? f.silent : f.inconsistent;
  const threshold =
    kind === "error_rate"
      ? c.thresholds.error_rate
      : kind === "silent_failures"
        ? c.thresholds.silent_failure_rate
        : c.thresholds.inconsistency_rate;
  const name =
    kind === "error_rate" ? "5xx rate" : kind === "silent_failures" ? "empty 2xx rate" : "inconsistent response rate";
  const after = a.count > 0 ? bad(a) / a.count : null;
  const before = b && b.count >= c.min_requests ? bad(b) / b.count : null;
  const base = {
    kind,
    service: a.service,
    method: a.method,
    route: a.route,
    metric: kind === "error_rate" ? "error_rate" : `${kind}_rate`,
    unit: "ratio" as const,
    before,
    after,
  };
  if (after === null) return null;
  const enough = a.count >= c.min_requests && bad(a) >= c.min_events;
  const from = before === null ? "" : ` from ${pct(before)}`;
  const text = (verb: string) =>
    `${name} of ${label} ${verb}${from} to ${pct(after)} (${bad(a)} of ${a.count} requests)`;
  const budget = 1 - c.slo.availability;
  if (enough && kind === "error_rate" && after >= threshold && after / budget >= PAGE_BURN) {
    return {
      ...base,
      severity: "CRITICAL",
      impact: after,
      text: `${text("rose")}, a ${(after / budget).toFixed(1)}x burn of the availability error budget over the whole range`,
    };
  }
  if (enough && after >= threshold)
    return {
      ...base,
      severity: "WARNING",
      impact: after,
      text: `${text("rose")}, above the ${pct(threshold)} threshold`,
    };
  if (enough && before !== null && after >= 3 * before && after >= budget)
    return {
      ...base,
      severity: "WARNING",
      impact: after,
      text: `${text("rose")} (${(after / Math.max(before, 1e-9)).toFixed(1)}x)`,
    };
  if (before !== null && b !== undefined && bad(b) >= c.min_events && before >= threshold && after < before / 3) {
    return { ...base, severity: "INFO", impact: before - after, text: text("fell") };
  }
  return null;
}

function latencyFinding(
  a: PeriodFigures,
  b: PeriodFigures | undefined,
  c: DetectionConfig,
  label: string,
): Draft | null {
  if (a.count < MIN_LATENCY_REQUESTS || a.p95_ms === null) return null;
  const after = a.p95_ms;
  const before = b && b.count >= MIN_LATENCY_REQUESTS ? b.p95_ms : null;
  const base = {
    kind: "latency_p95" as const,
    service: a.service,
    method: a.method,
    route: a.route,
    metric: "p95_ms",
    unit: "ms" as const,
    before,
    after,
  };
  const text = (verb: string) =>
    `p95 latency of ${label} ${verb}${before === null ? "" : ` from ${ms(before)}`} to ${ms(after)}`;
  const burn = a.slow_share === null ? 0 : a.slow_share / (1 - c.slo.latency_target);
  const impact = before === null ? 1 : Math.abs(after - before) / Math.max(before, 1);
  if (burn >= PAGE_BURN)
    return {
      ...base,
      severity: "CRITICAL",
      impact,
      text: `${text("rose")}; ${pct(a.slow_share ?? 0)} of requests took over ${ms(c.slo.latency_ms)}, a ${burn.toFixed(1)}x burn of the latency error budget`,
    };
  if (after >= c.thresholds.p95_ms)
    return {
      ...base,
      severity: "WARNING",
      impact,
      text: `${text("reached")}, above the ${ms(c.thresholds.p95_ms)} threshold`,
    };
  if (before !== null && after >= 2 * before && after - before >= 100)
    return { ...base, severity: "WARNING", impact, text: `${text("rose")} (${(after / before).toFixed(1)}x)` };
  if (before !== null && after <= before / 2 && before - after >= 100)
    return { ...base, severity: "INFO", impact, text: text("fell") };
  return null;
}

function trafficFinding(
  a: PeriodFigures | undefined,
  b: PeriodFigures | undefined,
  input: AnalysisInput,
  label: string,
  key: PeriodFigures,
): Draft | null {
  const afterCount = a?.count ?? 0;
  const beforeCount = b?.count ?? 0;
  const after = afterCount / Math.max(input.afterMinutes, 1);
  const before = beforeCount / Math.max(input.beforeMinutes, 1);
  const base = {
    kind: "traffic" as const,
    service: key.service,
    method: key.method,
    route: key.route,
    metric: "requests_per_minute",
    unit: "per_minute" as const,
    before,
    after,
  };
  if (beforeCount >= MIN_TRAFFIC_REQUESTS) {
    const impact = Math.abs(after - before) / Math.max(before, 1e-9);
    if (afterCount === 0)
      return { ...base, severity: "WARNING", impact, text: `Traffic to ${label} stopped (was ${perMin(before)})` };
    if (after <= before / 2)
      return {
        ...base,
        severity: "WARNING",
        impact,
        text: `Traffic to ${label} fell from ${perMin(before)} to ${perMin(after)}`,
      };
    if (after >= 2 * before)
      return {
        ...base,
        severity: "INFO",
        impact,
        text: `Traffic to ${label} rose from ${perMin(before)} to ${perMin(after)}`,
      };
  } else if (beforeCount === 0 && afterCount >= MIN_TRAFFIC_REQUESTS) {
    return {
      ...base,
      before: null,
      severity: "INFO",
      impact: 1,
      text: `${label} started receiving traffic (${perMin(after)})`,
    };
  }
  return null;
}

const endpointKey = (e: { service: string; method: string; route: string }): string =>
  `${e.service} ${e.method} ${e.route}`;
const labelOf = (e: { service: string; method: string; route: string }): string =>
  `${e.service} ${e.method} ${e.route}`;
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
