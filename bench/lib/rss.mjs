// @ts-check
/** Figures of a resident-memory curve sampled during a soak (`bench/soak.mjs`). Pure. */

/**
 * Least-squares slope of `points` ({x, y}), in y per x; 0 for fewer than two distinct x.
 * @param {{ x: number, y: number }[]} points
 */
export function linearSlope(points) {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const mib = (/** @type {number} */ kb) => Math.round((kb / 1024) * 10) / 10;

/**
 * Start, peak and end of `samples` ({t_s, rss_kb}) in MiB, and the slope of the second half of
 * the run (by time) in MiB per minute: a flat curve has a slope near 0 once the caches are warm.
 * @param {{ t_s: number, rss_kb: number }[]} samples
 */
export function rssSummary(samples) {
  if (samples.length === 0) return { start: null, peak: null, end: null, slope_second_half_mib_per_min: null };
  const first = samples[0];
  const last = samples[samples.length - 1];
  const half = first.t_s + (last.t_s - first.t_s) / 2;
  const second = samples.filter((s) => s.t_s >= half).map((s) => ({ x: s.t_s / 60, y: s.rss_kb / 1024 }));
  return {
    start: mib(first.rss_kb),
    peak: mib(Math.max(...samples.map((s) => s.rss_kb))),
    end: mib(last.rss_kb),
    slope_second_half_mib_per_min: Math.round(linearSlope(second) * 100) / 100,
  };
}

/**
 * Least-squares slope, MiB per minute, of `samples` ({t_s, kb}) between `fromS` and `toS`
 * (inclusive): the growth once the caches are warm (after a warm-up) and while the load runs.
 * Null with fewer than two samples in that span.
 * @param {{ t_s: number, kb: number }[]} samples
 * @param {number} fromS
 * @param {number} toS
 */
export function slopeBetween(samples, fromS, toS) {
  const span = samples.filter((s) => s.t_s >= fromS && s.t_s <= toS);
  if (span.length < 2) return null;
  return Math.round(linearSlope(span.map((s) => ({ x: s.t_s / 60, y: s.kb / 1024 }))) * 100) / 100;
}

/**
 * The soak's verdict on "memory flat": anonymous RSS (what the process cannot give back without
 * freeing it) grows after warm-up by at most `thresholdMibPerMin`, measured over at least
 * `minWindowS` seconds of load (a slope over a minute or two says little: a run that ended soon
 * after warm-up passed while the same load, twice as long, grew 46 MiB/min). Null slope or a
 * shorter window: not flat ("inconclusive" in the reason).
 * @param {number | null} slopeMibPerMin
 * @param {number} thresholdMibPerMin
 */
export function flatVerdict(slopeMibPerMin, thresholdMibPerMin, windowS = Infinity, minWindowS = 0) {
  if (slopeMibPerMin === null) return { flat: false, reason: "inconclusive: fewer than two samples after warm-up" };
  if (windowS < minWindowS)
    return {
      flat: false,
      reason: `inconclusive: ${Math.round(windowS)} s of load after warm-up, fewer than ${minWindowS} (slope ${slopeMibPerMin} MiB/min)`,
    };
  return slopeMibPerMin <= thresholdMibPerMin
    ? {
        flat: true,
        reason: `anonymous RSS slope ${slopeMibPerMin} MiB/min <= ${thresholdMibPerMin} over ${Math.round(windowS)} s`,
      }
    : {
        flat: false,
        reason: `anonymous RSS slope ${slopeMibPerMin} MiB/min > ${thresholdMibPerMin} over ${Math.round(windowS)} s`,
      };
}
