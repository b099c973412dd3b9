// @ts-check
/**
 * The one seeded pseudo-random source of the tests (test/prng.ts re-exports it), the Node scripts,
 * seed script, demo, simulator and benches: `createRng` (sfc32 with normal / exponential / pick),
 * the same numbers on every run, so that a failure or a benchmark can be replayed; `scenarioSeed`
 * derives one seed per scenario or series.
 */

/**
 * @typedef {object} Rng
 * @property {() => number} uniform uniform in [0, 1)
 * @property {() => number} normal standard normal (Box-Muller, the spare kept)
 * @property {(rate: number) => number} exponential an exponential gap at `rate` per unit
 * @property {<T>(list: readonly T[]) => T} pick one element of a non-empty list
 */

/**
 * A seeded PRNG (sfc32, its state filled by splitmix32): uniform in [0, 1), normal, exponential gaps, a pick.
 * @param {number} seed
 * @returns {Rng}
 */
export function createRng(seed) {
  let x = seed >>> 0;
  const splitmix = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const uniform = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  /** @type {number | null} */
  let spare = null;
  const normal = () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const phi = 2 * Math.PI * uniform();
    spare = r * Math.sin(phi);
    return r * Math.cos(phi);
  };
  return {
    uniform,
    normal,
    exponential: (rate) => -Math.log(1 - uniform()) / rate,
    // The index is below the length of a non-empty list (the cast is for noUncheckedIndexedAccess,
    // on when test/prng.ts brings this file into the worker's tsconfig).
    pick: (list) => /** @type {(typeof list)[number]} */ (list[Math.floor(uniform() * list.length)]),
  };
}

/**
 * The seed of one scenario or series: FNV-1a over the run seed and a name.
 * @param {number | string} seed
 * @param {string} name
 * @returns {number}
 */
export function scenarioSeed(seed, name) {
  let h = 0x811c9dc5;
  for (const ch of `${seed}:${name}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h >>> 0;
}
