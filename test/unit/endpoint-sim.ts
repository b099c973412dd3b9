/**
 * A simulated endpoint for the detection tests: Poisson requests per minute with a 5xx share and
 * log-normal latencies, summed into the windows the endpoint object's snapshots hold (latency
 * percentiles from the real LatencySketch over the shortest of 5, 15 and 30 minutes with 50
 * requests), evaluated minute by minute through the product's own `evaluateMinute`. Seeded.
 */
import { resolveDetection } from "../../src/detect/config";
import { emptyEngineState, evaluateMinute, type EngineState, type Evaluation } from "../../src/detect/evaluate";
import { LatencySketch } from "../../src/detect/sketch";
import { emptyTotals, type LatencySample, type Snapshot, type Totals } from "../../src/detect/types";
import { prng } from "../prng";

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
/** A Monday, 00:00 UTC. */
export const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);

/** What one minute of the endpoint looks like. */
export interface MinuteShape {
  /** Expected requests in the minute. */
  rate: number;
  /** Share of requests answered 5xx. */
  p5xx?: number;
  /** Median latency (ms) and log-normal sigma. */
  median?: number;
  sigma?: number;
}

const LATENCY_SPANS = [5, 15, 30] as const;

export class SimEndpoint {
  private readonly rand: () => number;
  private readonly minutes: { totals: Totals; sketch: LatencySketch }[] = [];
  /** Running sums of every minute so far (prefix sums), for the windows. */
  private readonly prefix: Totals[] = [emptyTotals()];
  state: EngineState = emptyEngineState();
  constructor(
    seed: number,
    readonly start = T0,
    readonly cfg = resolveDetection(null, "GET", "/sim"),
  ) {
    this.rand = prng(seed);
  }

  private normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.rand())) * Math.cos(2 * Math.PI * this.rand());
  }

  private poisson(lambda: number): number {
    if (lambda > 60) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
    const l = Math.exp(-lambda);
    let k = 0;
    for (let p = this.rand(); p > l; p *= this.rand()) k++;
    return k;
  }

  /** Start of the next minute to be evaluated. */
  get now(): number {
    return this.start + (this.prefix.length - 1) * MINUTE;
  }

  private sum(n: number): Totals {
    const end = this.prefix.length - 1;
    const a = this.prefix[Math.max(0, end - n)] ?? emptyTotals();
    const b = this.prefix[end] ?? emptyTotals();
    const out = emptyTotals();
    for (const k of Object.keys(out) as (keyof Totals)[]) out[k] = b[k] - a[k];
    return out;
  }

  /** Draws and evaluates one minute. */
  minute(shape: MinuteShape): Evaluation {
    const count = this.poisson(shape.rate);
    const totals = { ...emptyTotals(), count };
    const sketch = new LatencySketch();
    for (let i = 0; i < count; i++) {
      if (this.rand() < (shape.p5xx ?? 0.002)) totals.status_5xx++;
      sketch.add((shape.median ?? 80) * Math.exp((shape.sigma ?? 0.5) * this.normal()));
    }
    const minuteStart = this.now;
    this.minutes.push({ totals, sketch });
    if (this.minutes.length > 30) this.minutes.shift();
    const last = this.prefix[this.prefix.length - 1] ?? emptyTotals();
    const running = emptyTotals();
    for (const k of Object.keys(running) as (keyof Totals)[]) running[k] = last[k] + totals[k];
    this.prefix.push(running);
    let latency: LatencySample | null = null;
    for (const span of LATENCY_SPANS) {
      const w = this.minutes.slice(-span);
      if (w.reduce((n, m) => n + m.totals.count, 0) < 50) continue;
      const merged = new LatencySketch();
      for (const m of w) merged.merge(m.sketch);
      latency = {
        window_minutes: span,
        count: merged.count,
        p50: merged.quantile(0.5) ?? 0,
        p95: merged.quantile(0.95) ?? 0,
        p99: merged.quantile(0.99) ?? 0,
        max: merged.max,
      };
      break;
    }
    const snapshot: Snapshot = {
      minute_start: minuteStart,
      minute: this.sum(1),
      w5: this.sum(5),
      w15: this.sum(15),
      w30: this.sum(30),
      w60: this.sum(60),
      w360: this.sum(360),
      w3d: this.sum(3 * 1440),
      latency,
    };
    const ev = evaluateMinute(this.state, snapshot, this.cfg, { service: "sim", method: "GET", route: "/sim" });
    this.state = ev.state;
    return ev;
  }

  /** `n` minutes shaped by `shape(t)` (t: the minute's start). */
  run(n: number, shape: (t: number) => MinuteShape): Evaluation[] {
    return Array.from({ length: n }, () => this.minute(shape(this.now)));
  }
}

/** Minutes (from `from`) until the first incident opened in `evs`, or null. */
export function openedAfter(evs: readonly Evaluation[], from: number): number | null {
  const ev = evs.find((e) => (e.change === "opened" || e.change === "reopened") && e.minute >= from);
  return ev ? (ev.minute - from) / MINUTE : null;
}

/** Incidents opened (or re-opened) in `evs`. */
export const openings = (evs: readonly Evaluation[]): Evaluation[] =>
  evs.filter((e) => e.change === "opened" || e.change === "reopened");
