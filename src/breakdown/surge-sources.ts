/**
 * Who sends a surge: the consumers (or locations) whose requests per minute rose the most between
 * a window before the surge and the surge itself, when at most MAX_NAMES of them account for at
 * least SOURCE_SHARE of the extra requests ("consumer acme sent 86% of the extra requests (412/min,
 * usually 9/min)"), RISE_RATIO times the share of the usual requests they sent, while the rest
 * still send MIN_REST_SHARE of the requests: a surge spread over every consumer names nothing.
 * Reported as incident evidence beside the failure concentrations (metric `requests`). Pure.
 */
import { MAX_NAMES, MIN_REST_SHARE, type Concentration } from "./concentration";
import { DIMENSIONS, type Breakdown, type Dimension } from "./top-k";

export const SOURCE_SHARE = 0.6;
export const RISE_RATIO = 2;
/** Extra requests the surge window needs before its sources are named. */
export const MIN_EXTRA_REQUESTS = 50;

/** A window's breakdown and the minutes it spans. */
export interface Span {
  breakdown: Breakdown;
  minutes: number;
}

const perMin = (v: number): string => `${v >= 10 ? v.toFixed(0) : v.toFixed(1)}/min`;

function list(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1] ?? ""}`;
}

const total = (b: Breakdown, dim: Dimension): number => b[dim].top.reduce((s, g) => s + g.n, 0) + b[dim].other.n;

/** The named sources of the surge in `during` over `before` along one dimension, or null when none is clear. */
export function surgeSourceOf(during: Span, before: Span, dimension: Dimension): Concentration | null {
  if (during.minutes <= 0 || before.minutes <= 0) return null;
  const rateNow = total(during.breakdown, dimension) / during.minutes;
  const rateBefore = total(before.breakdown, dimension) / before.minutes;
  const extra = rateNow - rateBefore;
  if (extra * during.minutes < MIN_EXTRA_REQUESTS) return null;
  const usual = new Map(before.breakdown[dimension].top.map((g) => [g.k, g.n / before.minutes]));
  const rising = during.breakdown[dimension].top
    .filter((g) => g.k !== "")
    .map((g) => ({ k: g.k, now: g.n / during.minutes, usual: usual.get(g.k) ?? 0 }))
    .filter((g) => g.now > g.usual)
    .sort((a, b) => b.now - b.usual - (a.now - a.usual) || (a.k < b.k ? -1 : 1));
  const named: typeof rising = [];
  let covered = 0;
  for (const g of rising) {
    if (named.length >= MAX_NAMES || covered >= SOURCE_SHARE * extra) break;
    named.push(g);
    covered += g.now - g.usual;
  }
  if (named.length === 0 || covered < SOURCE_SHARE * extra) return null;
  const share = Math.min(1, covered / extra);
  const was = named.reduce((s, g) => s + g.usual, 0);
  const now = named.reduce((s, g) => s + g.now, 0);
  // Every consumer rising alike is no source: the named ones must hold RISE_RATIO times the share
  // of the extra requests that they held of the usual ones, and the rest still MIN_REST_SHARE of the requests.
  if (share < RISE_RATIO * (was / rateBefore) || rateNow - now < MIN_REST_SHARE * rateNow) return null;
  const names = named.map((g) => g.k);
  const many = names.length > 1;
  const who = dimension === "consumer" ? `${many ? "consumers" : "consumer"} ${list(names)}` : list(names);
  const text = `${who} sent ${Math.round(share * 100)}% of the extra requests (${perMin(now)}${many ? " together" : ""}, usually ${perMin(was)})`;
  return {
    dimension,
    metric: "requests",
    names,
    share,
    rate: now,
    rate_elsewhere: was,
    failures: Math.round(extra * during.minutes),
    requests: Math.round(rateNow * during.minutes),
    text,
  };
}

/** Every clear source of the surge, consumers first. */
export function surgeSources(during: Span, before: Span): Concentration[] {
  const out: Concentration[] = [];
  for (const dim of DIMENSIONS) {
    const c = surgeSourceOf(during, before, dim);
    if (c) out.push(c);
  }
  return out;
}
