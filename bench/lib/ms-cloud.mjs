// @ts-check
/**
 * The Microsoft Cloud Monitoring series (../shared/datasets/ms-cloud-monitoring, MIT) as request
 * traffic, with one fixed mapping for every series (no per-file tuning):
 *  - traffic series (request, query and purchase rates): one row is one step of the series
 *    (a minute or an hour of event time, as in the file); each minute draws Poisson(k x value)
 *    requests, k chosen so that the series' median (its mean when the median is 0) is
 *    TRAFFIC_MEDIAN_PER_MIN requests/min; 0.2% of them 5xx.
 *  - failure-rate series (crash rates): FAILURE_TRAFFIC_PER_MIN requests/min, of which a share
 *    FAILURE_MEDIAN_SHARE x value / median (capped at FAILURE_MAX_SHARE) are 5xx.
 *  - failure-count series ("Service Unavailable" counts): value 5xx per minute among
 *    FAILURE_TRAFFIC_PER_MIN requests/min.
 * Event time is the file's own (hour of day kept). Labelled segments are runs of Label 1 rows;
 * one is caught when an incident opens (or a resolved one re-opens) within it or up to
 * MATCH_AFTER_MS after it; any other incident opened after the first WARMUP_MS of the series is a
 * false one (a re-open is the same incident, counted apart). Pure apart from reading.
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { createRng, scenarioSeed } from "../../scripts/lib/prng.mjs";

export const MINUTE = 60_000;
export const DAY = 24 * 60 * MINUTE;
export const TRAFFIC_MEDIAN_PER_MIN = 20;
export const TRAFFIC_5XX_SHARE = 0.002;
export const FAILURE_TRAFFIC_PER_MIN = 60;
export const FAILURE_MEDIAN_SHARE = 0.01;
export const FAILURE_MAX_SHARE = 0.5;
export const MATCH_AFTER_MS = 5 * MINUTE;
export const WARMUP_MS = 6 * 60 * MINUTE;

/** @typedef {"traffic" | "failure_rate" | "failure_count"} Kind */
/**
 * @typedef {object} Series
 * @property {string} name
 * @property {string} domain
 * @property {Kind} kind
 * @property {number} start
 * @property {number} step
 * @property {number[]} values
 * @property {boolean[]} labels
 */
/** @typedef {{ opened_at: number, reopen?: boolean, kinds: string[] }} Opening */

/**
 * What each folder is, as request logs.
 * @type {Record<string, Kind>}
 */
export const DOMAINS = {
  "ecommerce-api-incoming-rps": "traffic",
  "mongodb-application-rps": "traffic",
  "consumer-purchase-rate": "traffic",
  "application-crash-rate-1": "failure_rate",
  "application-crash-rate-2": "failure_rate",
  "service-unavailable": "failure_count",
};

const parseTime = (/** @type {string} */ s) =>
  Date.parse(/[zZ]$/.test(s) ? s.replace(" ", "T") : `${s.replace(" ", "T")}Z`);

/**
 * Loads every series: name, domain, kind, start, step (ms), values, labels.
 * @param {string} dir
 */
export async function loadSeries(dir) {
  /** @type {Series[]} */
  const out = [];
  for (const domain of Object.keys(DOMAINS)) {
    const files = (await readdir(join(dir, "data", domain))).filter((f) => f.endsWith(".csv")).sort();
    for (const file of files) {
      const rows = (await readFile(join(dir, "data", domain, file), "utf8"))
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.replaceAll('"', "").split(","));
      const start = parseTime(rows[0][0]);
      const step = parseTime(rows[1][0]) - start;
      out.push({
        name: file.replace(/\.csv$/, ""),
        domain,
        kind: DOMAINS[domain],
        start,
        step,
        values: rows.map((r) => Number(r[1])),
        labels: rows.map((r) => r[2] === "1"),
      });
    }
  }
  return out;
}

/**
 * The series' reference level: its median, or its mean when the median is 0.
 * @param {number[]} values
 */
export function reference(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const med = sorted[Math.floor(sorted.length / 2)];
  if (med > 0) return med;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return mean > 0 ? mean : 1;
}

/**
 * @param {import("../../scripts/lib/prng.mjs").Rng} rng
 * @param {number} lambda
 */
function poisson(rng, lambda) {
  if (lambda <= 0) return 0;
  if (lambda > 60) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * rng.normal()));
  const l = Math.exp(-lambda);
  let k = 0;
  for (let p = rng.uniform(); p > l; p *= rng.uniform()) k++;
  return k;
}

/**
 * Per-minute requests and 5xx of one series (seeded by its name).
 * @param {Series} series
 */
export function toMinutes(series, seed = 1) {
  const rng = createRng(scenarioSeed(seed, series.name));
  const perRow = Math.max(1, Math.round(series.step / MINUTE));
  const n = series.values.length * perRow;
  const count = new Float64Array(n);
  const errors = new Float64Array(n);
  const ref = reference(series.values);
  for (let i = 0; i < n; i++) {
    const v = series.values[Math.floor(i / perRow)];
    if (series.kind === "traffic") {
      count[i] = poisson(rng, (TRAFFIC_MEDIAN_PER_MIN * v) / ref);
      errors[i] = poisson(rng, count[i] * TRAFFIC_5XX_SHARE);
    } else {
      count[i] = poisson(rng, FAILURE_TRAFFIC_PER_MIN);
      const share =
        series.kind === "failure_rate" ? Math.min(FAILURE_MAX_SHARE, (FAILURE_MEDIAN_SHARE * v) / ref) : null;
      errors[i] = share === null ? Math.min(count[i], v) : Math.min(count[i], poisson(rng, count[i] * share));
    }
  }
  return { start: series.start, count, errors };
}

/**
 * Labelled segments in event time: runs of Label 1 rows, with the direction of the change
 * (the segment's peak against the median of the 60 rows before it).
 * @param {Series} series
 */
export function segments(series) {
  /** @type {{ from: number, to: number, direction: "up" | "down" }[]} */
  const out = [];
  for (let i = 0; i < series.labels.length; i++) {
    if (!series.labels[i] || series.labels[i - 1]) continue;
    let j = i;
    while (j + 1 < series.labels.length && series.labels[j + 1]) j++;
    const before = series.values.slice(Math.max(0, i - 60), i).sort((a, b) => a - b);
    const base = before.length ? before[Math.floor(before.length / 2)] : series.values[i];
    const seg = series.values.slice(i, j + 1);
    const up = Math.max(...seg) - base >= base - Math.min(...seg);
    out.push({
      from: series.start + i * series.step,
      to: series.start + (j + 1) * series.step,
      direction: up ? "up" : "down",
    });
  }
  return out;
}

/**
 * Scores incident openings against the labelled segments of one series.
 * @param {Series} series
 * @param {Opening[]} openings
 */
export function scoreSeries(series, openings) {
  const segs = segments(series);
  const matched = new Set();
  const caught = segs.map((s) => {
    const hit = openings.find((o) => o.opened_at >= s.from && o.opened_at <= s.to + MATCH_AFTER_MS);
    if (hit) matched.add(hit);
    for (const o of openings) if (o.opened_at >= s.from && o.opened_at <= s.to + MATCH_AFTER_MS) matched.add(o);
    return { ...s, caught: hit !== undefined, delay_min: hit ? (hit.opened_at - s.from) / MINUTE : null };
  });
  const warmEnd = series.start + WARMUP_MS;
  const unmatched = openings.filter((o) => !matched.has(o) && o.opened_at >= warmEnd);
  const falseOnes = unmatched.filter((o) => !o.reopen);
  const days = (series.values.length * series.step - WARMUP_MS) / DAY;
  /** @type {Record<string, number>} */
  const falseKinds = {};
  for (const o of falseOnes) {
    const key = [...new Set(o.kinds)].sort().join("+") || "(none)";
    falseKinds[key] = (falseKinds[key] ?? 0) + 1;
  }
  return {
    segments: caught,
    false_incidents: falseOnes.length,
    false_reopens: unmatched.length - falseOnes.length,
    false_kinds: falseKinds,
    days,
  };
}
