/**
 * In-process replay of per-minute traffic through the product's own evaluation
 * (`evaluateMinute` of src/detect/evaluate.ts: detectors, health, incident machine), for the
 * real-data bench. The endpoint Durable Object builds its snapshots from SQLite windows; here the
 * same windows (1, 5, 15, 30, 60, 360 minutes and the 3-day hour buckets) are summed from prefix
 * sums over the whole series, which is what the object's windows hold for traffic that arrives
 * in order. The series carry no latency, so every window with enough requests reports one fixed
 * latency sample (the latency detectors stay quiet and never decide a result). Bundled with
 * esbuild by bench/real-data.mjs; no bindings, no Workers APIs.
 */
import { resolveDetection } from "../../src/detect/config";
import { emptyEngineState, evaluateMinute } from "../../src/detect/evaluate";
import type { Incident } from "../../src/detect/incident";
import { emptyTotals, type LatencySample, type Snapshot, type Totals } from "../../src/detect/types";
import { MINUTE_MS } from "../../src/monitor/minute-counts";
import { LATENCY_MIN_SAMPLES, SPANS } from "../../src/monitor/windows-view";

const HOUR_MINUTES = 60;

export interface ReplayOpening {
  /** When the incident opened, or re-opened (`reopen`: the same incident open again after a resolution). */
  opened_at: number;
  reopen: boolean;
  severity: Incident["severity"];
  kinds: string[];
  explanation: string;
}

export interface ReplayResult {
  openings: ReplayOpening[];
  /** Incident changes other than "updated", in order (for flapping counts). */
  changes: { minute: number; change: string }[];
  /** Minutes with each signal kind raised (shown, whether or not an incident opened). */
  signal_minutes: Record<string, number>;
  /** Start of each minute where a given signal kind was raised (only for `track` kinds). */
  tracked: number[];
}

/**
 * Replays `count[i]` requests and `errors[i]` 5xx in minute `start + i` (event time, in order)
 * through the default detection settings and returns the incidents it opened.
 */
export function replayMinutes(
  start: number,
  count: ArrayLike<number>,
  errors: ArrayLike<number>,
  track: string | null = null,
): ReplayResult {
  const n = count.length;
  const pc = new Float64Array(n + 1);
  const pe = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    pc[i + 1] = (pc[i] ?? 0) + (count[i] ?? 0);
    pe[i + 1] = (pe[i] ?? 0) + (errors[i] ?? 0);
  }
  const totals = (from: number, to: number): Totals => {
    const a = Math.max(0, from);
    const t = emptyTotals();
    t.count = (pc[to] ?? 0) - (pc[a] ?? 0);
    t.status_5xx = (pe[to] ?? 0) - (pe[a] ?? 0);
    return t;
  };
  const cfg = resolveDetection(null, "GET", "/replay");
  const endpoint = { service: "replay", method: "GET", route: "/replay" };
  let state = emptyEngineState();
  const out: ReplayResult = { openings: [], changes: [], signal_minutes: {}, tracked: [] };
  for (let i = 0; i < n; i++) {
    const minute = start + i * MINUTE_MS;
    const end = i + 1;
    const s: Partial<Snapshot> & { minute_start: number } = { minute_start: minute };
    for (const [name, span] of SPANS) s[name] = totals(end - span, end);
    // The object's hour buckets: the 72 hours up to the end of the evaluated minute's hour.
    const hourStartIndex = i - (Math.floor(minute / MINUTE_MS) % HOUR_MINUTES);
    s.w3d = totals(hourStartIndex - 71 * HOUR_MINUTES, end);
    let latency: LatencySample | null = null;
    for (const span of [5, 15, 30] as const) {
      const c = span === 5 ? s.w5?.count : span === 15 ? s.w15?.count : s.w30?.count;
      if ((c ?? 0) >= LATENCY_MIN_SAMPLES) {
        latency = { window_minutes: span, count: c ?? 0, p50: 100, p95: 250, p99: 400, max: 600 };
        break;
      }
    }
    const snapshot: Snapshot = { ...(s as Snapshot), latency, probe: null };
    const ev = evaluateMinute(state, snapshot, cfg, endpoint);
    state = ev.state;
    for (const sig of ev.signals) out.signal_minutes[sig.kind] = (out.signal_minutes[sig.kind] ?? 0) + 1;
    if (track !== null && ev.signals.some((sig) => sig.kind === track)) out.tracked.push(minute);
    if (ev.change && ev.change !== "updated") out.changes.push({ minute, change: ev.change });
    if ((ev.change === "opened" || ev.change === "reopened") && ev.incident) {
      const reopen = ev.change === "reopened";
      out.openings.push({
        opened_at: reopen ? minute : ev.incident.opened_at,
        reopen,
        severity: ev.incident.severity,
        kinds: ev.incident.signals.map((e) => e.kind),
        explanation: ev.incident.explanation,
      });
    }
  }
  return out;
}
