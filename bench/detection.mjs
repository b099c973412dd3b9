#!/usr/bin/env node
// @ts-check
/**
 * Detection benchmark (`npm run bench:detection`): replays the NAB "API subset" (19 files,
 * 34 windows; see bench/lib/nab.mjs) through the product's own metric detector and scores it
 * the way NAB does, with the detector's fixed shipped parameters (`NAB_PARAMS`), not a
 * threshold tuned on the corpus: that is the honest figure for a product.
 *
 * The detector is the real TypeScript in `src/detect/metric.ts`, bundled with esbuild into a
 * temporary .mjs and imported, so the bench never re-implements it. One CSV row is one step
 * (one bucket's metric). A detection is an incident *opening*: `fired` while no incident is
 * open; the incident closes after RESOLVE_AFTER_CLEAN_MINUTES (from src/detect/incident.ts)
 * consecutive steps without `fired`. Probation rows are fed to the detector, so it learns,
 * but NAB does not score detections there.
 *
 * Options: --json (a machine-readable summary as the last line), --self-check (checks the
 *          scorer and the replay, no detector needed), --detector <metric.ts>,
 *          --incident <incident.ts> (stand-ins for the two source files).
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { loadApiSubset, loadProfiles, nabDir, normalise, nullFileScore, scoreSubset } from "./lib/nab.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const FALLBACK_RESOLVE_STEPS = 10;
const TARGET_LINE = "target: standard >= 60, low-FP no more than 10 below standard";
const TARGET_STANDARD = 60;
const TARGET_LOW_FP_GAP = 10;
/** Share of scored steps with `fired` above which a file is flagged as firing constantly. */
const NOISY_FIRED_SHARE = 0.2;
/** The README's published API-subset figures for Numenta HTM, used to check the normalisation. */
const PUBLISHED_NUMENTA = { standard: 72.8, reward_low_FP_rate: 64.1, reward_low_FN_rate: 77.0 };

/**
 * What this bench uses of the detector module (src/detect/metric.ts or a stand-in).
 * @typedef {object} MetricModule
 * @property {unknown} NAB_PARAMS
 * @property {() => unknown} emptyMetricState
 * @property {(state: unknown, value: number, params: unknown) => { state: unknown, fired: boolean }} metricStep
 */
/** @typedef {import("./lib/nab.mjs").NabFile} NabFile */
/** @typedef {import("./lib/nab.mjs").Cost} Cost */

/**
 * Bundles one TypeScript module into `outDir` with esbuild and imports it.
 * @param {typeof import("esbuild")} esbuild
 * @param {string} entry
 * @param {string} outDir
 * @param {string} name
 */
async function importTs(esbuild, entry, outDir, name) {
  const outfile = join(outDir, `${name}.mjs`);
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outfile,
    logLevel: "silent",
  });
  return import(pathToFileURL(outfile).href);
}

/**
 * Loads the detector and the incident resolve delay. incident.ts may pull in Workers-only
 * modules, so when it cannot be imported the constant is read from its source text, and when
 * the file is missing the bench falls back to 10 steps; `notes` says which happened.
 * @param {string} metricPath
 * @param {string} incidentPath
 * @returns {Promise<{ metric: MetricModule, resolveAfter: number, notes: string[] }>}
 */
async function loadDetector(metricPath, incidentPath) {
  if (!existsSync(metricPath))
    throw new Error(`${metricPath} does not exist (pass --detector <file.ts> to use a stand-in)`);
  const esbuild = await import("esbuild");
  const outDir = await mkdtemp(join(tmpdir(), "bench-detection-"));
  /** @type {string[]} */
  const notes = [];
  try {
    const metric = await importTs(esbuild, metricPath, outDir, "metric");
    for (const key of ["NAB_PARAMS", "emptyMetricState", "metricStep"]) {
      if (!(key in metric)) throw new Error(`${metricPath} does not export ${key}`);
    }
    let resolveAfter = FALLBACK_RESOLVE_STEPS;
    if (!existsSync(incidentPath)) {
      notes.push(
        `${relative(ROOT, incidentPath)} not found: RESOLVE_AFTER_CLEAN_MINUTES falls back to ${FALLBACK_RESOLVE_STEPS}`,
      );
    } else {
      try {
        const incident = await importTs(esbuild, incidentPath, outDir, "incident");
        if (typeof incident.RESOLVE_AFTER_CLEAN_MINUTES !== "number")
          throw new Error("RESOLVE_AFTER_CLEAN_MINUTES is not an exported number");
        resolveAfter = incident.RESOLVE_AFTER_CLEAN_MINUTES;
      } catch (err) {
        const m = /export\s+const\s+RESOLVE_AFTER_CLEAN_MINUTES\s*(?::\s*\w+\s*)?=\s*([\d_.]+)/.exec(
          await readFile(incidentPath, "utf8"),
        );
        if (!m)
          throw new Error(
            `cannot read RESOLVE_AFTER_CLEAN_MINUTES from ${incidentPath}: ${/** @type {Error} */ (err).message}`,
          );
        resolveAfter = Number(m[1].replaceAll("_", ""));
        notes.push(
          `incident.ts could not be imported (${/** @type {Error} */ (err).message.replace(/\s+/g, " ")}); RESOLVE_AFTER_CLEAN_MINUTES read from its source`,
        );
      }
    }
    return { metric, resolveAfter, notes };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/**
 * Replays one series through `step` (value -> fired) and returns the incident openings as row
 * indices, plus how many of the rows from `scoredFrom` on had `fired` set.
 * @param {number[]} values
 * @param {(value: number) => boolean} step
 * @param {number} resolveAfter
 */
function replayIncidents(values, step, resolveAfter, scoredFrom = 0) {
  /** @type {number[]} */
  const openings = [];
  let open = false;
  let clean = 0;
  let firedScored = 0;
  values.forEach((value, i) => {
    const fired = step(value);
    if (fired && i >= scoredFrom) firedScored++;
    if (fired) {
      clean = 0;
      if (!open) {
        open = true;
        openings.push(i);
      }
    } else if (open && ++clean >= resolveAfter) {
      open = false;
      clean = 0;
    }
  });
  return { openings, firedScored };
}

/**
 * Runs the product detector over every file: detections and fired shares per file.
 * @param {NabFile[]} files
 * @param {MetricModule} metric
 * @param {number} resolveAfter
 */
function runDetector(files, metric, resolveAfter) {
  /** @type {Map<string, number[]>} */
  const detections = new Map();
  /** @type {Map<string, number>} */
  const firedShare = new Map();
  for (const file of files) {
    let state = metric.emptyMetricState();
    const step = (/** @type {number} */ value) => {
      const out = metric.metricStep(state, value, metric.NAB_PARAMS);
      state = out.state;
      return out.fired;
    };
    const { openings, firedScored } = replayIncidents(file.values, step, resolveAfter, file.probation);
    detections.set(file.name, openings);
    firedShare.set(file.name, firedScored / (file.values.length - file.probation));
  }
  return { detections, firedShare };
}

/**
 * Checks the scorer and the replay on detectors whose score is known; true when all pass.
 * @param {string} dir
 * @param {NabFile[]} files
 * @param {Record<string, Cost>} profiles
 */
async function selfCheck(dir, files, profiles) {
  /** @type {{ name: string, ok: boolean, detail: string }[]} */
  const results = [];
  const check = (/** @type {string} */ name, /** @type {boolean} */ ok, /** @type {string} */ detail) =>
    results.push({ name, ok, detail });
  const fmt = (/** @type {Record<string, number>} */ scores) =>
    Object.entries(scores)
      .map(([p, s]) => `${p} ${s.toFixed(4)}`)
      .join(", ");
  const perfect = scoreSubset(files, profiles, new Map(files.map((f) => [f.name, f.windows.map((w) => w.startIndex)])));
  check(
    "fires at each window start -> 100",
    Object.values(perfect.scores).every((s) => Math.abs(s - 100) < 1e-9),
    fmt(perfect.scores),
  );
  const never = scoreSubset(files, profiles, new Map());
  check(
    "never fires -> 0",
    Object.values(never.scores).every((s) => Math.abs(s) < 1e-9),
    fmt(never.scores),
  );
  const always = scoreSubset(files, profiles, new Map(files.map((f) => [f.name, f.values.map((_, i) => i)])));
  check(
    "fires at every row -> very negative (< -100)",
    Object.values(always.scores).every((s) => s < -100),
    fmt(always.scores),
  );
  // The null detector's raw per-file scores must match NAB's published results/null files.
  /** @type {string[]} */
  const mismatches = [];
  for (const [p, cost] of Object.entries(profiles)) {
    const csv = await readFile(join(dir, "results", "null", `null_${p}_scores.csv`), "utf8");
    const published = new Map(
      csv
        .split("\n")
        .slice(1)
        .map((l) => l.split(","))
        .map((c) => [c[2], Number(c[4])]),
    );
    for (const f of files) if (published.get(f.name) !== nullFileScore(f, cost)) mismatches.push(`${p} ${f.name}`);
  }
  check(
    "null raw scores match results/null per file",
    mismatches.length === 0,
    mismatches.join("; ") || "19 files x 3 profiles",
  );
  // Normalising Numenta's published per-file raw scores must give the README's figures.
  /** @type {Record<string, number>} */
  const numenta = {};
  for (const [p, cost] of Object.entries(profiles)) {
    const csv = await readFile(join(dir, "results", "numenta", `numenta_${p}_scores.csv`), "utf8");
    const rows = new Map(
      csv
        .split("\n")
        .slice(1)
        .map((l) => l.split(","))
        .map((c) => [c[2], Number(c[4])]),
    );
    const raw = files.reduce((s, f) => s + (rows.get(f.name) ?? NaN), 0);
    numenta[p] = normalise(raw, never.null_raw[p], never.windows, cost);
  }
  check(
    "published Numenta raw scores normalise to the README's",
    Object.entries(PUBLISHED_NUMENTA).every(([p, s]) => Math.abs(numenta[p] - s) < 0.05),
    fmt(numenta),
  );
  const inexact = files.flatMap((f) => f.windows.filter((w) => !w.exact).map(() => f.name));
  check("every window edge matches a row timestamp", inexact.length === 0, inexact.join(", ") || "34/34");
  const pattern = [0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 1];
  const { openings } = replayIncidents(pattern, (v) => v === 1, 3);
  check(
    "replay opens on fired and resolves after 3 clean steps",
    openings.join() === "1,11",
    `openings at ${openings.join(",")}`,
  );
  for (const r of results) console.log(`${r.ok ? "PASS" : "FAIL"}  ${r.name}: ${r.detail}`);
  return results.every((r) => r.ok);
}

const pad = (/** @type {unknown} */ s, /** @type {number} */ n) => String(s).padEnd(n);
const num = (/** @type {number | null} */ x, digits = 1) => (x === null ? "-" : x.toFixed(digits));

/**
 * Prints the human-readable report.
 * @param {ReturnType<typeof scoreSubset>} summary
 * @param {NabFile[]} files
 * @param {Map<string, number>} firedShare
 */
function printReport(summary, files, firedShare) {
  const s = summary.scores;
  console.log(
    `\nNAB API subset: ${files.length} files, ${summary.windows} windows, ${num(summary.scored_days)} scored days`,
  );
  console.log("profile               normalised   raw");
  for (const p of Object.keys(s)) console.log(`  ${pad(p, 20)}${pad(num(s[p]), 13)}${num(summary.raw[p], 3)}`);
  console.log(`window recall         ${summary.windows_caught}/${summary.windows}`);
  console.log(`FP detections         ${summary.false_positives} (${num(summary.false_positives_per_day, 3)}/day)`);
  console.log(
    `median delay          ${num(summary.median_delay_minutes, 0)} min after window start, ${num(summary.median_delay_from_label_minutes, 0)} min after the labelled anomaly`,
  );
  console.log(`\n${pad("file", 58)}${pad("caught", 8)}${pad("FPs", 6)}fired%`);
  for (const f of summary.per_file) {
    const share = /** @type {number} */ (firedShare.get(f.file)); // every file has one (runDetector)
    const flag = share > NOISY_FIRED_SHARE ? "  <- fires constantly" : "";
    console.log(
      `${pad(f.file, 58)}${pad(`${f.caught}/${f.windows}`, 8)}${pad(f.false_positives, 6)}${num(share * 100)}${flag}`,
    );
  }
  const met = s.standard >= TARGET_STANDARD && s.standard - s.reward_low_FP_rate <= TARGET_LOW_FP_GAP;
  console.log(`\n${TARGET_LINE}`);
  console.log(
    `result: standard ${num(s.standard)}, low-FP ${num(s.reward_low_FP_rate)} (${num(s.standard - s.reward_low_FP_rate)} below): ${met ? "MET" : "NOT MET"}`,
  );
  return met;
}

async function main() {
  const { values: opts } = parseArgs({
    options: {
      json: { type: "boolean" },
      "self-check": { type: "boolean" },
      detector: { type: "string", default: join(ROOT, "src", "detect", "metric.ts") },
      incident: { type: "string", default: join(ROOT, "src", "detect", "incident.ts") },
      help: { type: "boolean", short: "h" },
    },
  });
  if (opts.help) {
    console.log(
      "usage: node bench/detection.mjs [--json] [--self-check] [--detector <metric.ts>] [--incident <incident.ts>]",
    );
    return;
  }
  const dir = nabDir(ROOT);
  const [files, profiles] = await Promise.all([loadApiSubset(dir), loadProfiles(dir)]);
  if (opts["self-check"]) {
    const ok = await selfCheck(dir, files, profiles);
    if (opts.json) console.log(JSON.stringify({ self_check: ok }));
    process.exitCode = ok ? 0 : 1;
    return;
  }
  const metricPath = resolve(opts.detector);
  const { metric, resolveAfter, notes } = await loadDetector(metricPath, resolve(opts.incident));
  console.log(`detector: ${relative(ROOT, metricPath)} with NAB_PARAMS ${JSON.stringify(metric.NAB_PARAMS)}`);
  console.log(`incident: opens on fired, resolves after ${resolveAfter} clean steps (one step = one row)`);
  for (const note of notes) console.log(`note: ${note}`);
  const dupes = files.filter((f) => f.duplicates > 0).map((f) => `${f.name} (${f.duplicates})`);
  if (dupes.length)
    console.log(`note: repeated timestamps (2014-03-09 DST change), replayed in file order: ${dupes.join(", ")}`);
  const { detections, firedShare } = runDetector(files, metric, resolveAfter);
  const summary = scoreSubset(files, profiles, detections);
  const met = printReport(summary, files, firedShare);
  if (opts.json) {
    const perFile = summary.per_file.map((f) => ({ ...f, fired_share: firedShare.get(f.file) }));
    console.log(
      JSON.stringify({
        ...summary,
        per_file: perFile,
        resolve_after_steps: resolveAfter,
        params: metric.NAB_PARAMS,
        target_met: met,
      }),
    );
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exitCode = 1;
});
