/**
 * The deterministic plain-language explanation of an incident, built only from its evidence and
 * figures, e.g. "p95 latency of GET /orders/:id rose from 120 ms to 410 ms over 35 min while the
 * 5xx rate stayed at 0.1%". An AI summary may come on top of it later; it never replaces it. Pure.
 */
import type { Evidence, Incident } from "./incident-types";
import type { Figures } from "./types";
import { deployPhrase } from "../deploys/deploys";

const ms = (v: number): string => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const pct = (v: number): string => `${v * 100 >= 10 ? (v * 100).toFixed(0) : (v * 100).toFixed(1)}%`;
const perMin = (v: number): string => `${v >= 10 ? Math.round(v) : v.toFixed(1)} requests/min`;

function duration(e: Evidence): string {
  const minutes = Math.max(1, Math.round((e.last_event_at - e.first_event_at) / 60_000));
  return minutes >= 120 ? `${(minutes / 60).toFixed(1)} h` : `${minutes} min`;
}

/** "consumer acme: 5xx 4.2% over 15 min, objective 1%" (its worst over a window of the given length). */
function consumerPhrase(e: Evidence): string {
  const minutes = e.window.endsWith("m") ? `${e.window.slice(0, -1)} min` : e.window;
  const objective = e.threshold ?? 0;
  const what = e.objective === "latency_p95_ms" ? "p95" : e.objective === "silent_failure_rate" ? "empty 200s" : "5xx";
  const target = e.unit === "ms" ? ms(objective) : `${Number((objective * 100).toFixed(3))}%`;
  return `consumer ${e.consumer ?? "?"}: ${what} ${e.unit === "ms" ? ms(e.peak) : pct(e.peak)} over ${minutes}, objective ${target}`;
}

/** ", with 29% of requests answered 429 Too Many Requests (usually 5.0%)": a rate limiter turning the surge away. */
function rateLimitedPhrase(e: Evidence): string {
  const r = e.rate_limited;
  return r ? `, with ${pct(r.share)} of requests answered 429 Too Many Requests (usually ${pct(r.usual)})` : "";
}

function phrase(e: Evidence, label: string): string {
  const over = `over ${duration(e)}`;
  switch (e.kind) {
    case "latency_p95_threshold":
      return `p95 latency of ${label} reached ${ms(e.peak)}, above the ${ms(e.threshold ?? 0)} threshold, ${over}`;
    case "latency_p95_baseline":
    case "latency_p50_baseline": {
      const p = e.kind === "latency_p95_baseline" ? "p95" : "p50";
      return `${p} latency of ${label} rose from ${ms(e.baseline ?? 0)} to ${ms(e.observed)} ${over}`;
    }
    case "error_rate_threshold":
      return `5xx rate of ${label} reached ${pct(e.peak)}, above the ${pct(e.threshold ?? 0)} threshold, ${over}`;
    case "error_rate_baseline":
      return `5xx rate of ${label} rose from ${pct(e.baseline ?? 0)} to ${pct(e.observed)} ${over}`;
    case "availability_burn_page":
    case "availability_burn_ticket":
      return `${label} is spending its availability error budget ${e.peak.toFixed(1)}x faster than the SLO allows (${e.window} windows)`;
    case "latency_burn_page":
    case "latency_burn_ticket":
      return `${label} is spending its latency error budget ${e.peak.toFixed(1)}x faster than the SLO allows (${e.window} windows)`;
    case "silent_failures":
      return `empty 200 responses from ${label} rose from ${pct(e.baseline ?? 0)} to ${pct(e.observed)} of requests ${over}`;
    case "inconsistencies":
      return `inconsistent responses from ${label} rose from ${pct(e.baseline ?? 0)} to ${pct(e.observed)} of requests ${over}`;
    case "traffic_drop":
      return `traffic to ${label} fell from ${perMin(e.baseline ?? 0)} to ${perMin(e.peak)} ${over}`;
    case "traffic_surge":
      return `traffic to ${label} surged to ${perMin(e.peak)}, ${(e.peak / Math.max(e.baseline ?? 1, 1e-9)).toFixed(1)}x its usual ${perMin(e.baseline ?? 0)}, ${over}${rateLimitedPhrase(e)}`;
    case "traffic_stop":
      return `${label} received no requests for ${duration(e)} (usually ${perMin(e.baseline ?? 0)})`;
    case "probe_failed":
      return `the synthetic probe of ${label} failed ${Math.round(e.peak)} times in a row`;
    case "client_errors":
      return `4xx rate of ${label} rose to ${pct(e.observed)}`;
    case "consumer_objective":
      return consumerPhrase(e);
  }
}

/** What stayed normal, for contrast: the 5xx rate when only latency moved, and the other way round. */
function contrast(incident: Incident, figures: Figures): string {
  const families = new Set(incident.signals.map((s) => s.family));
  if (families.size === 1 && families.has("consumer")) return consumerContrast(incident, figures);
  if (!families.has("availability") && figures.error_rate !== null)
    return ` while the 5xx rate stayed at ${pct(figures.error_rate)}`;
  if (!families.has("latency") && figures.p95_ms !== null) return ` while p95 latency stayed at ${ms(figures.p95_ms)}`;
  return "";
}

/** The endpoint as a whole, when only named consumers broke their objectives. */
function consumerContrast(incident: Incident, figures: Figures): string {
  const parts = [
    figures.error_rate === null ? null : `5xx ${pct(figures.error_rate)}`,
    figures.p95_ms === null ? null : `p95 ${ms(figures.p95_ms)}`,
  ].filter((p) => p !== null);
  return parts.length === 0
    ? ""
    : ` while ${incident.method} ${incident.route} as a whole stayed at ${parts.join(", ")}`;
}

const capitalise = (s: string): string => `${s.charAt(0).toUpperCase()}${s.slice(1)}`;

export function explain(incident: Incident): string {
  const label = `${incident.method} ${incident.route}`;
  const parts = incident.signals.map((e) => phrase(e, label));
  if (parts.length === 0) return `${label} is ${incident.severity.toLowerCase()}.`;
  const [first, ...rest] = parts;
  let text = `${first ?? ""}${contrast(incident, incident.figures)}`;
  if (rest.length > 0) text += `; ${rest.join("; ")}`;
  const lead =
    incident.severity === "CRITICAL"
      ? incident.signals.some((s) => s.level === "page")
        ? "Critical (page-level error-budget burn): "
        : "Critical (independent signals agree): "
      : "Warning: ";
  const deploy = incident.deploy
    ? ` ${capitalise(deployPhrase({ ...incident.deploy, service: incident.service }, incident.opened_at))}.`
    : "";
  const where = (incident.concentration ?? []).map((c) => ` ${capitalise(c.text)}.`).join("");
  const tail =
    incident.status === "resolved" && incident.resolved_at !== null
      ? ` Resolved after ${incident.clean_minutes} clean minutes.`
      : "";
  // Capitalise the sentence, but not a percentile ("p95 latency ...").
  const capitalised = /^p\d/.test(text) ? text : `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
  return `${lead}${capitalised}.${where}${deploy}${tail}`;
}
