// @ts-check
/**
 * Simulation of the 5xx-rate detector alone (src/detect/rates.ts, the Poisson CUSUM and its
 * guards): false incidents over 10 seeded weeks of steady traffic at several rates, and the
 * detection delay of a creep from 0.2% to 3% over an hour. Parameters of ERROR_RATE_PARAMS can
 * be overridden with a JSON argument, e.g. `node bench/rates-sim.mjs '{"h":8}'`.
 */
import { build } from "esbuild";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRng } from "../scripts/lib/prng.mjs";
const out = await build({
  entryPoints: [new URL("../src/detect/rates.ts", import.meta.url).pathname],
  bundle: true,
  format: "esm",
  platform: "neutral",
  write: false,
});
const file = join(mkdtempSync(join(tmpdir(), "rates-sim-")), "rates.mjs");
writeFileSync(file, out.outputFiles[0].text);
const R = await import(file);
/**
 * @param {number} l
 * @param {() => number} r
 */
function poisson(l, r) {
  if (l > 50) {
    const z = Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r());
    return Math.max(0, Math.round(l + Math.sqrt(l) * z));
  }
  let L = Math.exp(-l),
    k = 0,
    p = 1;
  do {
    k++;
    p *= r();
  } while (p > L);
  return k - 1;
}
/**
 * @param {number} n
 * @param {number} p
 * @param {() => number} r
 */
function binom(n, p, r) {
  if (n * p > 30)
    return Math.max(
      0,
      Math.round(n * p + Math.sqrt(n * p * (1 - p)) * Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r())),
    );
  let k = 0;
  for (let i = 0; i < n; i++) if (r() < p) k++;
  return k;
}
const params = { ...R.ERROR_RATE_PARAMS, ...JSON.parse(process.argv[2] ?? "{}") };
const guard = { min_requests: 20, min_events: 5 };
/**
 * @param {number} minutes
 * @param {number} rpm
 * @param {(minute: number) => number} pAt
 * @param {number} seed
 */
function run(minutes, rpm, pAt, seed) {
  const r = createRng(seed).uniform;
  let st = R.emptyRateState();
  /** @type {[number, number][]} */
  const hist = [];
  let openUntil = -1;
  /** @type {number[]} */
  const incidents = [];
  let clean = 0,
    open = false,
    prevFired = false;
  for (let m = 0; m < minutes; m++) {
    const n = poisson(rpm, r),
      k = binom(n, pAt(m), r);
    hist.push([k, n]);
    if (hist.length > 60) hist.shift();
    const w = (/** @type {number} */ span) => {
      let b = 0,
        c = 0;
      for (const [k2, n2] of hist.slice(-span)) {
        b += k2;
        c += n2;
      }
      return { bad: b, count: c };
    };
    const s = R.rateStep(st, { bad: k, count: n }, [w(5), w(15), w(60)], guard, params);
    st = s.state;
    // As the product: an incident opens once the signal holds two minutes in a row (opened at the first).
    if (s.fired) {
      if (!open && prevFired) incidents.push(m - 1);
      if (prevFired) open = true;
      clean = 0;
    } else if (open && ++clean >= 15) open = false;
    prevFired = s.fired;
  }
  return incidents;
}
const W = 7 * 1440;
for (const rpm of [5, 20, 60, 100, 300]) {
  let fp = 0,
    weeks = 0;
  for (let s = 1; s <= 10; s++) {
    fp += run(W, rpm, () => 0.002, s * 7 + rpm).length;
    weeks++;
  }
  console.log(`steady 0.2% rpm ${rpm}: ${fp} false incidents in ${weeks} weeks`);
}
for (const [rpm, p] of [
  [1, 0.01],
  [1, 0.02],
  [2, 0.005],
]) {
  let fp = 0;
  for (let s = 1; s <= 10; s++) fp += run(W, rpm, () => p, s * 13).length;
  console.log(`low traffic rpm ${rpm} p ${p}: ${fp} false in 10 weeks`);
}
for (const rpm of [20, 60, 120]) {
  const delays = [];
  for (let s = 1; s <= 21; s++) {
    const inc = run(
      360 + 120,
      rpm,
      (/** @type {number} */ m) => (m < 360 ? 0.002 : Math.min(0.03, 0.002 + (0.028 * (m - 360)) / 60)),
      s * 31,
    );
    const d = inc.find((x) => x >= 358);
    delays.push(d === undefined ? 999 : d - 360);
  }
  delays.sort((a, b) => a - b);
  console.log(`creep rpm ${rpm}: median delay ${delays[10]} min (p25 ${delays[5]}, p75 ${delays[15]}) over 21 seeds`);
}
