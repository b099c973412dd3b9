/**
 * One finding per rule of a range analysis, for one endpoint: its 5xx, empty-2xx and inconsistent
 * rates, its p95 latency and its traffic, each judged with detection's lines (thresholds, minimum
 * volumes, burn rates against the SLOs) over the whole range, then against the earlier period.
 * Pure; findings.ts gathers, ranks and trims them.
 */
import type { DetectionConfig } from "../detect/config";
import type { AnalysisInput, Finding, PeriodFigures } from "./finding-types";

/** Latency percentiles need this many requests in a period (as in detection). */
const MIN_LATENCY_REQUESTS = 50;
/** Traffic changes are judged when the earlier period held at least this many requests. */
const MIN_TRAFFIC_REQUESTS = 100;
/** Burn rate of a page (SRE workbook: 2% of a 30-day budget in an hour). */
const PAGE_BURN = 14.4;

const pct = (v: number): string => `${v * 100 >= 10 ? (v * 100).toFixed(0) : (v * 100).toFixed(1)}%`;
const ms = (v: number): string => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const perMin = (v: number): string => `${v >= 10 ? Math.round(v) : v.toFixed(1)}/min`;

/** A finding before ranking: `impact` orders findings of one severity and kind, the most affecting first. */
export type Draft = Omit<Finding, "change" | "incident_id"> & { incident_id?: string | null; impact: number };

/** The finding on one of the rates (5xx, empty 2xx, inconsistent responses) of an endpoint, or null. */
export function rateFinding(
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

/** The finding on the p95 latency of an endpoint, or null (too few requests, or nothing notable). */
export function latencyFinding(
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

/** The finding on the traffic of an endpoint (stopped, fell, rose, started), or null. */
export function trafficFinding(
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
