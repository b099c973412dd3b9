// @ts-check
/**
 * The NAB (Numenta Anomaly Benchmark) "API subset" and its scorer, as pure functions.
 *
 * The subset is the 17 files of `data/realAWSCloudwatch/` plus two `realKnownCause/` files,
 * 34 labelled windows in all (see the dataset's README.md). The scorer follows NAB's own
 * implementation (numenta/NAB `nab/sweeper.py`, used by `nab/scorer.py`, and the
 * normalisation in `nab/runner.py`) rather than a paraphrase of it, because small details
 * move the score: window edges are row indices (the first row carrying the label's
 * timestamp), a true positive is divided by scaledSigmoid(-1) so the window's first row
 * earns exactly tpWeight, a false positive is scaled by its distance past the previous
 * window's right edge in units of that window's width minus one, and the probation period
 * is min(floor(15% of rows), 750) rows whose detections are ignored.
 *
 * Detections here are row indices where the detector *opened* an incident: NAB counts every
 * row at or above threshold, so feeding it openings rather than every firing row is what
 * makes a paging product's score comparable.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";

/** The realKnownCause files that belong to the API subset, next to all of realAWSCloudwatch. */
const KNOWN_CAUSE_FILES = [
  "realKnownCause/ec2_request_latency_system_failure.csv",
  "realKnownCause/cpu_utilization_asg_misconfiguration.csv",
];
/** The subset's size as the dataset README defines it; a different copy is refused. */
export const SUBSET_FILES = 19;
export const SUBSET_WINDOWS = 34;

const PROBATION_PERCENT = 0.15;
const PROBATION_CAP_ROWS = PROBATION_PERCENT * 5000;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * @typedef {object} NabWindow
 * @property {number} start
 * @property {number} end
 * @property {number} startIndex
 * @property {number} endIndex
 * @property {number} width
 * @property {boolean} exact
 * @property {number | null} label
 */
/**
 * @typedef {object} NabFile
 * @property {string} name
 * @property {number[]} timestamps
 * @property {number[]} values
 * @property {number} probation
 * @property {NabWindow[]} windows
 * @property {number} duplicates
 */
/** @typedef {{ tpWeight: number, fpWeight: number, fnWeight: number }} Cost */
/**
 * @typedef {object} Match
 * @property {(number | null)[]} firstHit
 * @property {{ index: number, previous: NabWindow | null }[]} falsePositives
 */

/** The dataset directory: `NAB_DIR`, else `../shared/datasets/nab` relative to the repo root. */
/** @param {string} repoRoot */
export function nabDir(repoRoot) {
  return process.env.NAB_DIR ? resolve(process.env.NAB_DIR) : resolve(repoRoot, "..", "shared", "datasets", "nab");
}

/** Milliseconds since the epoch of a NAB timestamp ("2014-02-26 13:45:00[.000000]"), read as UTC. */
/** @param {string} text */
export function parseNabTimestamp(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?$/.exec(text.trim());
  if (!m) throw new Error(`unrecognised NAB timestamp: ${text}`);
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/** Rows NAB leaves unscored at the start of a file of `rowCount` rows. */
/** @param {number} rowCount */
export function probationLength(rowCount) {
  return Math.min(Math.floor(PROBATION_PERCENT * rowCount), PROBATION_CAP_ROWS);
}

/** NAB's scaledSigmoid: 2*sigmoid(-5y)-1, and -1 for positions more than 3 widths past a window. */
/** @param {number} position */
export function scaledSigmoid(position) {
  if (position > 3) return -1;
  return 2 / (1 + Math.exp(5 * position)) - 1;
}

/** Reads one `timestamp,value` CSV; rows are stable-sorted by timestamp (NAB files already are). */
/**
 * @param {string} text
 * @param {string} name
 */
function parseCsv(text, name) {
  /** @type {{ t: number, v: number }[]} */
  const rows = [];
  for (const line of text.split(/\r?\n/).slice(1)) {
    if (line.trim() === "") continue;
    const [ts, value] = line.split(",");
    const v = Number(value);
    if (!Number.isFinite(v)) throw new Error(`${name}: non-numeric value in line "${line}"`);
    rows.push({ t: parseNabTimestamp(ts), v });
  }
  rows.sort((a, b) => a.t - b.t);
  return { timestamps: rows.map((r) => r.t), values: rows.map((r) => r.v) };
}

/**
 * Row indices of a labelled window, as NAB finds them: the first row with the start
 * timestamp and the first row with the end timestamp (falling back to the nearest rows
 * inside the window if a label does not match a row exactly, which NAB itself would reject).
 * @param {number[]} timestamps
 * @param {number} start
 * @param {number} end
 */
function windowIndices(timestamps, start, end) {
  let startIndex = timestamps.indexOf(start);
  let endIndex = timestamps.indexOf(end);
  const exact = startIndex >= 0 && endIndex >= 0;
  if (startIndex < 0) startIndex = timestamps.findIndex((t) => t >= start);
  if (endIndex < 0) endIndex = timestamps.findLastIndex((t) => t <= end);
  if (startIndex < 0 || endIndex < startIndex) throw new Error(`window ${new Date(start).toISOString()} holds no rows`);
  return { startIndex, endIndex, exact };
}

/**
 * Loads the API subset: for each file its name, timestamps (ms), values, probation length,
 * windows ({start, end, startIndex, endIndex, width}) and the duplicated-timestamp count.
 * @param {string} dir
 * @returns {Promise<NabFile[]>}
 */
export async function loadApiSubset(dir) {
  /** @type {Record<string, [string, string][] | undefined>} */
  const labels = JSON.parse(await readFile(join(dir, "labels", "combined_windows.json"), "utf8"));
  /** @type {Record<string, string[] | undefined>} */
  const points = JSON.parse(await readFile(join(dir, "labels", "combined_labels.json"), "utf8"));
  const aws = (await readdir(join(dir, "data", "realAWSCloudwatch"))).filter((f) => f.endsWith(".csv")).sort();
  const names = [...aws.map((f) => `realAWSCloudwatch/${f}`), ...KNOWN_CAUSE_FILES];
  /** @type {NabFile[]} */
  const files = [];
  for (const name of names) {
    const { timestamps, values } = parseCsv(await readFile(join(dir, "data", name), "utf8"), name);
    const limits = labels[name];
    if (!Array.isArray(limits)) throw new Error(`${name}: no entry in labels/combined_windows.json`);
    const windows = limits.map(([s, e]) => {
      const start = parseNabTimestamp(s);
      const end = parseNabTimestamp(e);
      const { startIndex, endIndex, exact } = windowIndices(timestamps, start, end);
      // The labelled anomaly point inside the window (NAB centres windows on it).
      const label = (points[name] ?? []).map(parseNabTimestamp).find((t) => t >= start && t <= end) ?? null;
      return { start, end, startIndex, endIndex, width: endIndex - startIndex + 1, exact, label };
    });
    const duplicates = timestamps.filter((t, i) => i > 0 && t === timestamps[i - 1]).length;
    files.push({ name, timestamps, values, probation: probationLength(timestamps.length), windows, duplicates });
  }
  const windowCount = files.reduce((n, f) => n + f.windows.length, 0);
  if (files.length !== SUBSET_FILES || windowCount !== SUBSET_WINDOWS) {
    throw new Error(
      `API subset under ${dir} has ${files.length} files / ${windowCount} windows, expected ${SUBSET_FILES} / ${SUBSET_WINDOWS}`,
    );
  }
  return files;
}

/** The three scoring profiles of `config/profiles.json`: {name: {tpWeight, fpWeight, fnWeight}}. */
/**
 * @param {string} dir
 * @returns {Promise<Record<string, Cost>>}
 */
export async function loadProfiles(dir) {
  /** @type {Record<string, { CostMatrix: Cost }>} */
  const raw = JSON.parse(await readFile(join(dir, "config", "profiles.json"), "utf8"));
  return Object.fromEntries(Object.entries(raw).map(([name, p]) => [name, p.CostMatrix]));
}

/** Windows NAB scores at all: those with at least one row after the probation period. */
/** @param {NabFile} file */
function scorableWindows(file) {
  return file.windows.filter((w) => w.endIndex >= file.probation);
}

/**
 * Classifies the scored detections of one file: for each window the earliest detection inside
 * it (row index or null), and the detections outside every window with the window before them.
 * `detections` are row indices; those in the probation period are dropped.
 * @param {NabFile} file
 * @param {number[]} detections
 * @returns {Match}
 */
export function matchDetections(file, detections) {
  const scored = [...new Set(detections)].filter((i) => i >= file.probation).sort((a, b) => a - b);
  /** @type {(number | null)[]} */
  const firstHit = file.windows.map(() => null);
  /** @type {Match["falsePositives"]} */
  const falsePositives = [];
  for (const i of scored) {
    const w = file.windows.findIndex((win) => win.startIndex <= i && i <= win.endIndex);
    if (w >= 0) {
      if (firstHit[w] === null) firstHit[w] = i;
      continue;
    }
    /** @type {NabWindow | null} */
    let previous = null;
    for (const win of file.windows)
      if (win.endIndex < i && (previous === null || win.endIndex > previous.endIndex)) previous = win;
    falsePositives.push({ index: i, previous });
  }
  return { firstHit, falsePositives };
}

/**
 * NAB's raw score of one file for one profile, from `matchDetections` output.
 * @param {NabFile} file
 * @param {Match} match
 * @param {Cost} cost
 */
export function rawFileScore(file, match, cost) {
  const maxTP = scaledSigmoid(-1);
  let score = 0;
  file.windows.forEach((win, w) => {
    if (win.endIndex < file.probation) return; // wholly inside probation: NAB never scores it
    const i = match.firstHit[w];
    if (i === null) {
      score -= cost.fnWeight;
      return;
    }
    const tp = (scaledSigmoid(-(win.endIndex - i + 1) / win.width) * cost.tpWeight) / maxTP;
    score += Math.max(-cost.fnWeight, tp);
  });
  for (const { index, previous } of match.falsePositives) {
    const unweighted =
      previous === null ? -1 : scaledSigmoid(Math.abs(previous.endIndex - index) / (previous.width - 1));
    score += unweighted * cost.fpWeight;
  }
  return score;
}

/**
 * The raw score of a detector that never fires: -fnWeight for every scorable window.
 * @param {NabFile} file
 * @param {Cost} cost
 */
export function nullFileScore(file, cost) {
  return -cost.fnWeight * scorableWindows(file).length;
}

/**
 * NAB's normalisation: 100 * (S - S_null) / (perfect - S_null), perfect = windows * tpWeight.
 * @param {number} raw
 * @param {number} nullRaw
 * @param {number} windowCount
 * @param {Cost} cost
 */
export function normalise(raw, nullRaw, windowCount, cost) {
  const perfect = windowCount * cost.tpWeight;
  return (100 * (raw - nullRaw)) / (perfect - nullRaw);
}

/**
 * Median of a list of numbers (null for an empty list).
 * @param {number[]} values
 */
function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Scores the whole subset. `detectionsByFile` maps a file name to its detection row indices.
 * Returns per-profile normalised and raw scores, window recall, false positives (total and per
 * scored day), the median detection delay in minutes, and a per-file breakdown.
 * @param {NabFile[]} files
 * @param {Record<string, Cost>} profiles
 * @param {Map<string, number[]>} detectionsByFile
 */
export function scoreSubset(files, profiles, detectionsByFile) {
  const windowCount = files.reduce((n, f) => n + f.windows.length, 0);
  /** @type {{ file: string, windows: number, caught: number, false_positives: number, raw: Record<string, number> }[]} */
  const perFile = [];
  /** @type {number[]} */
  const delays = [];
  /** @type {number[]} */
  const labelDelays = [];
  let caught = 0;
  let fps = 0;
  let scoredDays = 0;
  const raw = Object.fromEntries(Object.keys(profiles).map((p) => [p, 0]));
  const nullRaw = { ...raw };
  for (const file of files) {
    const match = matchDetections(file, detectionsByFile.get(file.name) ?? []);
    /** @type {Record<string, number>} */
    const fileScores = {};
    for (const [p, cost] of Object.entries(profiles)) {
      fileScores[p] = rawFileScore(file, match, cost);
      raw[p] += fileScores[p];
      nullRaw[p] += nullFileScore(file, cost);
    }
    const hits = match.firstHit.filter((i) => i !== null).length;
    match.firstHit.forEach((i, w) => {
      if (i === null) return;
      delays.push((file.timestamps[i] - file.windows[w].start) / MINUTE_MS);
      const label = file.windows[w].label;
      if (label !== null) labelDelays.push((file.timestamps[i] - label) / MINUTE_MS);
    });
    caught += hits;
    fps += match.falsePositives.length;
    const last = file.timestamps.length - 1;
    scoredDays += (file.timestamps[last] - file.timestamps[Math.min(file.probation, last)]) / DAY_MS;
    perFile.push({
      file: file.name,
      windows: file.windows.length,
      caught: hits,
      false_positives: match.falsePositives.length,
      raw: fileScores,
    });
  }
  const scores = Object.fromEntries(
    Object.entries(profiles).map(([p, cost]) => [p, normalise(raw[p], nullRaw[p], windowCount, cost)]),
  );
  return {
    scores,
    raw,
    null_raw: nullRaw,
    windows: windowCount,
    windows_caught: caught,
    window_recall: caught / windowCount,
    false_positives: fps,
    scored_days: scoredDays,
    false_positives_per_day: fps / scoredDays,
    median_delay_minutes: median(delays),
    /** From the labelled anomaly point (negative: before it, still inside the window). */
    median_delay_from_label_minutes: median(labelDelays),
    per_file: perFile,
  };
}
