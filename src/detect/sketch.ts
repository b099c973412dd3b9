/**
 * A DDSketch-style latency sketch: log-spaced buckets with a relative-error guarantee, mergeable
 * by adding counts, bounded in size whatever the traffic. For the endpoint Durable Object's
 * windows (one sketch per bucket of time, merged for any longer window). Pure.
 *
 * With relative accuracy α, a value x > 0 falls in bucket i = ceil(log_γ x), γ = (1 + α)/(1 − α),
 * and the bucket is represented by 2γ^i/(γ + 1), which is within α of every value in it; so any
 * quantile read back is within α (relative) of the true value at that rank. Values at or below
 * MIN_VALUE count in a zero bucket. When more than `maxBuckets` buckets exist, the lowest ones are
 * collapsed into one (the accuracy then holds above them: the fast requests lose precision, the
 * slow ones that matter keep it).
 */

export const DEFAULT_RELATIVE_ACCURACY = 0.01;
export const DEFAULT_MAX_BUCKETS = 2048;
/** Latencies at or below this (in ms) count as zero: 1 µs. */
export const MIN_VALUE = 0.001;

/** The compact stored form: accuracy, zero count, and [index, count] pairs. */
export interface SketchData {
  a: number;
  z: number;
  b: [number, number][];
}

/**
 * A stored sketch read back defensively: text that is not a sketch (a row written straight into
 * D1) gives an empty one, and pairs that are not [integer index, positive count] are left out,
 * so one bad row cannot fail a read of many.
 */
export function parseSketch(text: string): SketchData {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = null;
  }
  const d = (typeof data === "object" && data !== null ? data : {}) as Partial<Record<keyof SketchData, unknown>>;
  const a = typeof d.a === "number" && d.a > 0 && d.a < 1 ? d.a : DEFAULT_RELATIVE_ACCURACY;
  const z = typeof d.z === "number" && Number.isFinite(d.z) && d.z > 0 ? d.z : 0;
  const b = Array.isArray(d.b)
    ? d.b.filter(
        (p): p is [number, number] =>
          Array.isArray(p) && Number.isInteger(p[0]) && typeof p[1] === "number" && Number.isFinite(p[1]) && p[1] > 0,
      )
    : [];
  return { a, z, b };
}

export class LatencySketch {
  readonly relativeAccuracy: number;
  private readonly gamma: number;
  private readonly logGamma: number;
  private readonly maxBuckets: number;
  private readonly buckets = new Map<number, number>();
  private zeroCount = 0;
  private total = 0;
  private maxSeen = 0;

  constructor(relativeAccuracy = DEFAULT_RELATIVE_ACCURACY, maxBuckets = DEFAULT_MAX_BUCKETS) {
    if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) throw new RangeError("relative accuracy must be in (0, 1)");
    this.relativeAccuracy = relativeAccuracy;
    this.gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
    this.logGamma = Math.log(this.gamma);
    this.maxBuckets = maxBuckets;
  }

  /** Number of values added. */
  get count(): number {
    return this.total;
  }

  /** The largest value added (exact). */
  get max(): number {
    return this.maxSeen;
  }

  /** Number of non-zero buckets held (bounded by `maxBuckets`). */
  get size(): number {
    return this.buckets.size;
  }

  private indexOf(value: number): number {
    return Math.ceil(Math.log(value) / this.logGamma);
  }

  private valueOf(index: number): number {
    return (2 * this.gamma ** index) / (this.gamma + 1);
  }

  /** Adds `count` occurrences of a value (negative and non-finite values are ignored). */
  add(value: number, count = 1): void {
    if (!Number.isFinite(value) || value < 0 || count <= 0) return;
    this.total += count;
    if (value > this.maxSeen) this.maxSeen = value;
    if (value <= MIN_VALUE) {
      this.zeroCount += count;
      return;
    }
    const i = this.indexOf(value);
    this.buckets.set(i, (this.buckets.get(i) ?? 0) + count);
    if (this.buckets.size > this.maxBuckets) this.collapseLowest();
  }

  private collapseLowest(): void {
    const indexes = [...this.buckets.keys()].sort((x, y) => x - y);
    const excess = indexes.length - this.maxBuckets;
    const target = indexes[excess];
    if (target === undefined) return;
    let moved = 0;
    for (const i of indexes.slice(0, excess)) {
      moved += this.buckets.get(i) ?? 0;
      this.buckets.delete(i);
    }
    this.buckets.set(target, (this.buckets.get(target) ?? 0) + moved);
  }

  /** Adds every value of `other` (same accuracy required). */
  merge(other: LatencySketch): void {
    if (other.relativeAccuracy !== this.relativeAccuracy)
      throw new RangeError("cannot merge sketches of different accuracy");
    this.zeroCount += other.zeroCount;
    this.total += other.total;
    if (other.maxSeen > this.maxSeen) this.maxSeen = other.maxSeen;
    for (const [i, c] of other.buckets) this.buckets.set(i, (this.buckets.get(i) ?? 0) + c);
    if (this.buckets.size > this.maxBuckets) this.collapseLowest();
  }

  /** The value at quantile q (0..1), within the relative accuracy of the true value at that rank; null when empty. */
  quantile(q: number): number | null {
    if (this.total === 0 || !(q >= 0 && q <= 1)) return null;
    const rank = q * (this.total - 1);
    if (rank < this.zeroCount) return 0;
    let seen = this.zeroCount;
    const indexes = [...this.buckets.keys()].sort((x, y) => x - y);
    for (const i of indexes) {
      seen += this.buckets.get(i) ?? 0;
      if (seen > rank) return Math.min(this.valueOf(i), this.maxSeen);
    }
    return this.maxSeen;
  }

  /**
   * Number of values at or below `threshold`, for latency SLOs. Conservative: only buckets that
   * lie wholly at or below the threshold count, so a value above it is never counted as good (a
   * value within the relative accuracy below it may be counted as bad).
   */
  countAtOrBelow(threshold: number): number {
    let n = this.zeroCount;
    if (threshold <= MIN_VALUE) return n;
    // Bucket i holds (γ^(i−1), γ^i]: wholly at or below the threshold when γ^i <= threshold.
    const limit = Math.floor(Math.log(threshold) / this.logGamma + 1e-9);
    for (const [i, c] of this.buckets) if (i <= limit) n += c;
    return n;
  }

  /** The compact stored form. */
  toJSON(): SketchData {
    return { a: this.relativeAccuracy, z: this.zeroCount, b: [...this.buckets.entries()].sort((x, y) => x[0] - y[0]) };
  }

  /** ln γ of an accuracy: bucket i holds (γ^(i−1), γ^i], i = ceil(ln x / ln γ), for code that counts buckets itself (SQL). */
  static logGammaOf(relativeAccuracy = DEFAULT_RELATIVE_ACCURACY): number {
    return Math.log((1 + relativeAccuracy) / (1 - relativeAccuracy));
  }

  /**
   * A sketch from bucket counts made elsewhere with the same index (`logGammaOf`): for example
   * grouped by SQL, or the buckets of several stored sketches concatenated (pairs with the same
   * index add up, so this is also a merge). `max` is the exact largest value when it is known.
   * Pairs with a non-integer index or a count that is not positive are ignored.
   */
  static fromBuckets(
    pairs: Iterable<readonly [number, number]>,
    opts: { zeroCount?: number; max?: number; relativeAccuracy?: number; maxBuckets?: number } = {},
  ): LatencySketch {
    const sketch = new LatencySketch(
      opts.relativeAccuracy ?? DEFAULT_RELATIVE_ACCURACY,
      opts.maxBuckets ?? DEFAULT_MAX_BUCKETS,
    );
    const zero = opts.zeroCount ?? 0;
    if (zero > 0) {
      sketch.zeroCount = zero;
      sketch.total = zero;
    }
    let top = Number.NEGATIVE_INFINITY;
    for (const [i, c] of pairs) {
      if (!Number.isInteger(i) || !(c > 0)) continue;
      sketch.buckets.set(i, (sketch.buckets.get(i) ?? 0) + c);
      sketch.total += c;
      if (i > top) top = i;
    }
    if (sketch.buckets.size > sketch.maxBuckets) sketch.collapseLowest();
    sketch.maxSeen = opts.max ?? (Number.isFinite(top) ? sketch.valueOf(top) : 0);
    return sketch;
  }

  /** A sketch from its stored form (the exact max is not stored: it is read back from the top bucket). */
  static fromJSON(data: SketchData, maxBuckets = DEFAULT_MAX_BUCKETS): LatencySketch {
    const sketch = new LatencySketch(data.a, maxBuckets);
    sketch.zeroCount = data.z;
    sketch.total = data.z;
    let top = Number.NEGATIVE_INFINITY;
    for (const [i, c] of data.b) {
      sketch.buckets.set(i, c);
      sketch.total += c;
      if (i > top) top = i;
    }
    sketch.maxSeen = Number.isFinite(top) ? sketch.valueOf(top) : 0;
    return sketch;
  }
}
