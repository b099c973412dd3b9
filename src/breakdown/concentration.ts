/**
 * Whether an endpoint's failures are concentrated on a few consumers or locations, from its
 * breakdown over the incident's minutes: "92% of the 5xx come from consumer acme". A failure is
 * concentrated when at most MAX_NAMES named groups hold at least MIN_SHARE of the failures and
 * fail at least RATE_RATIO times as often as the rest of the traffic, which must be at least
 * MIN_REST_SHARE of the requests (a consumer that sends all the traffic is not a concentration).
 * A failure spread evenly over the traffic names nothing. Pure.
 */
import type { Breakdown, Dimension, GroupFigures } from "./top-k";
import { DIMENSIONS } from "./top-k";

export const MIN_FAILURES = 10;
export const MIN_SHARE = 0.8;
export const MAX_NAMES = 3;
export const RATE_RATIO = 5;
export const MIN_REST_SHARE = 0.1;
/** At or above this share the failures are "only" in the named groups. */
const ONLY_SHARE = 0.99;

export type FailureMetric = "5xx" | "silent_failures";
/** What a concentration is about: failures, or the requests of a surge (surge-sources.ts). */
export type ConcentrationMetric = FailureMetric | "requests";

/**
 * A clear concentration, as incident evidence. For a surge's sources (`requests`): `share` of the
 * extra requests, `rate` and `rate_elsewhere` the named groups' requests per minute now and
 * before, `failures` the extra requests.
 */
export interface Concentration {
  dimension: Dimension;
  metric: ConcentrationMetric;
  names: string[];
  /** Share of the failures in the named groups (0..1). */
  share: number;
  /** Failure rate of the named groups' requests, and of every other request. */
  rate: number;
  rate_elsewhere: number;
  failures: number;
  requests: number;
  /** The sentence the explanation uses. */
  text: string;
}

const failuresOf = (g: GroupFigures, metric: FailureMetric): number => (metric === "5xx" ? g.e : g.s);

const pct = (v: number): string => `${v * 100 >= 10 ? (v * 100).toFixed(0) : (v * 100).toFixed(1)}%`;

function list(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1] ?? ""}`;
}

function sentence(c: Omit<Concentration, "text"> & { metric: FailureMetric }): string {
  const what = c.metric === "5xx" ? "5xx" : "empty 200 responses";
  const many = c.names.length > 1;
  const where = c.dimension === "consumer" ? `${many ? "consumers" : "consumer"} ${list(c.names)}` : list(c.names);
  const rates = `${pct(c.rate)} of ${many ? "their" : "its"} requests, ${pct(c.rate_elsewhere)} elsewhere`;
  if (c.share >= ONLY_SHARE)
    return c.dimension === "consumer" ? `${what} only for ${where} (${rates})` : `${what} only in ${where} (${rates})`;
  return `${pct(c.share)} of the ${what} ${c.dimension === "consumer" ? "come from" : "are in"} ${where} (${rates})`;
}

/** The concentration of `metric` failures along one dimension, or null when none is clear. */
export function concentrationOf(
  breakdown: Breakdown,
  dimension: Dimension,
  metric: FailureMetric,
): Concentration | null {
  const t = breakdown[dimension];
  const groups = [...t.top, { ...t.other, k: null as string | null, w: t.other.n }];
  const requests = groups.reduce((s, g) => s + g.n, 0);
  const failures = groups.reduce((s, g) => s + failuresOf(g, metric), 0);
  if (failures < MIN_FAILURES || requests === 0) return null;
  // Only groups with a name can be named ("other" and records without one cannot).
  const named = t.top
    .filter((g) => g.k !== "" && failuresOf(g, metric) > 0)
    .sort((a, b) => failuresOf(b, metric) - failuresOf(a, metric));
  const chosen: typeof named = [];
  let inFailures = 0;
  for (const g of named) {
    if (chosen.length >= MAX_NAMES || inFailures / failures >= MIN_SHARE) break;
    chosen.push(g);
    inFailures += failuresOf(g, metric);
  }
  const share = inFailures / failures;
  if (share < MIN_SHARE) return null;
  const inRequests = chosen.reduce((s, g) => s + g.n, 0);
  const restRequests = requests - inRequests;
  if (restRequests < MIN_REST_SHARE * requests) return null;
  const rate = inFailures / inRequests;
  const rateElsewhere = (failures - inFailures) / restRequests;
  if (rate < RATE_RATIO * rateElsewhere) return null;
  const c = {
    dimension,
    metric,
    names: chosen.map((g) => g.k),
    share,
    rate,
    rate_elsewhere: rateElsewhere,
    failures,
    requests,
  };
  return { ...c, text: sentence(c) };
}

/** Every clear concentration of the given failure metrics, consumers first. */
export function concentrations(breakdown: Breakdown, metrics: readonly FailureMetric[]): Concentration[] {
  const out: Concentration[] = [];
  for (const metric of metrics)
    for (const dim of DIMENSIONS) {
      const c = concentrationOf(breakdown, dim, metric);
      if (c) out.push(c);
    }
  return out;
}

/** The failure metrics an incident's evidence is about: 5xx for availability signals, empty 200s for silent failures. */
export function failureMetrics(signals: readonly { family: string }[]): FailureMetric[] {
  const families = new Set(signals.map((s) => s.family));
  const out: FailureMetric[] = [];
  if (families.has("availability")) out.push("5xx");
  if (families.has("silent")) out.push("silent_failures");
  return out;
}
