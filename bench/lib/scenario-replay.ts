/**
 * In-process replay of one scenario's records (bench/lib/scenarios.mjs) through the product's own
 * minute evaluation (`evaluateMinute`), for iterating on the detectors without a workerd: records
 * are counted per minute as the endpoint object counts them (`countByBucket`, slow against the
 * learnt latency objective), latency from the real sketch over the object's 5/15/30-minute
 * windows (`WindowsView`). It approximates the object (no record buffer, no alarms, no 3-day hour
 * rows: the 3-day window is summed from minutes); the full suite (bench/scenarios.mjs) is the
 * measurement. Bundled with esbuild by bench/scenarios-sim.mjs.
 */
import { resolveDetection } from "../../src/detect/config";
import { emptyEngineState, evaluateMinute } from "../../src/detect/evaluate";
import { withObjective } from "../../src/detect/objective";
import { LatencySketch } from "../../src/detect/sketch";
import type { Snapshot } from "../../src/detect/types";
import { WindowsView, type WindowRow } from "../../src/monitor/windows-view";

const MINUTE_MS = 60_000;

interface ScenarioRecord {
  timestamp: number;
  status: number;
  latency_ms: number;
  response_empty?: boolean;
}

export interface ScenarioOpening {
  opened_at: number;
  severity: string;
  kinds: string[];
  explanation: string;
  reopen: boolean;
}

/** Replays the records (in timestamp order) from `start` to `end` and returns the incidents opened. */
export function replayScenario(
  records: Iterable<ScenarioRecord>,
  start: number,
  end: number,
  method: string,
  route: string,
  trace: [number, number] | null = null,
): ScenarioOpening[] {
  const cfg = resolveDetection(null, method, route);
  let state = emptyEngineState();
  const first = Math.floor(start / MINUTE_MS) * MINUTE_MS;
  const rows: WindowRow[] = [];
  const sketches = new Map<number, LatencySketch>();
  const out: ScenarioOpening[] = [];
  const it = records[Symbol.iterator]();
  let pending = it.next();
  for (let minute = first; minute + MINUTE_MS <= end; minute += MINUTE_MS) {
    const slowMs = withObjective(cfg, state.detectors.objective).slo.latency_ms;
    const row: WindowRow = {
      start: minute,
      count: 0,
      status_4xx: 0,
      status_429: 0,
      status_5xx: 0,
      silent_failures: 0,
      inconsistent: 0,
      slow: 0,
      bytes: 0,
    };
    const sketch = new LatencySketch();
    while (!pending.done && pending.value.timestamp < minute + MINUTE_MS) {
      const r = pending.value;
      row.count++;
      if (r.status >= 500) row.status_5xx++;
      else if (r.status >= 400) row.status_4xx++;
      else if (r.response_empty) row.silent_failures++;
      if (r.status === 429) row.status_429++;
      if (r.latency_ms > slowMs) row.slow++;
      sketch.add(r.latency_ms);
      pending = it.next();
    }
    rows.push(row);
    sketches.set(minute, sketch);
    if (rows.length > 3 * 1440) sketches.delete(rows.shift()?.start ?? 0);
    const recent = rows.slice(-360);
    const view = new WindowsView(recent, [], (t) => sketches.get(t) ?? null, 1024);
    const snap: Snapshot = view.snapshot(minute);
    const w3d = { ...snap.w360 };
    for (const r of rows.slice(0, Math.max(0, rows.length - 360))) {
      w3d.count += r.count;
      w3d.status_4xx += r.status_4xx;
      w3d.status_429 += r.status_429;
      w3d.status_5xx += r.status_5xx;
      w3d.silent += r.silent_failures;
      w3d.slow += r.slow;
    }
    const ev = evaluateMinute(state, { ...snap, w3d, probe: null }, cfg, { service: "sim", method, route });
    if (trace && minute >= trace[0] && minute < trace[1]) {
      const d = ev.state.detectors;
      console.log(
        new Date(minute).toISOString().slice(11, 16),
        snap.minute.count,
        snap.latency?.window_minutes,
        Math.round(snap.latency?.p95 ?? 0),
        "base",
        Math.round(Math.expm1(state.detectors.latency_p95.ewma.mean)),
        "sd",
        Math.sqrt(state.detectors.latency_p95.ewma.variance).toFixed(3),
        "cus",
        d.latency_p95.up.toFixed(1),
        "recent",
        Math.round(d.recent?.latency_p95 ?? 0),
        "5xx",
        snap.minute.status_5xx,
        snap.w15.status_5xx,
        snap.w60.status_5xx,
        "ecus",
        d.errors.cusum.toFixed(1),
        "usual",
        (d.errors.bad / Math.max(1, d.errors.total)).toFixed(4),
        ev.signals.map((x) => `${x.kind}:${Math.round(x.observed)}/${Math.round(x.baseline ?? 0)}`).join(","),
        ev.change ?? "",
      );
    }
    state = ev.state;
    if ((ev.change === "opened" || ev.change === "reopened") && ev.incident) {
      const reopen = ev.change === "reopened";
      out.push({
        opened_at: reopen ? minute : ev.incident.opened_at,
        severity: ev.incident.severity,
        kinds: ev.incident.signals.map((e) => e.kind),
        explanation: ev.incident.explanation,
        reopen,
      });
    }
  }
  return out;
}
