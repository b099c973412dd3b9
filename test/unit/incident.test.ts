import { describe, expect, it } from "vitest";
import { assess, type RecentFamilies } from "../../src/detect/health";
import {
  emptyMachine,
  incidentId,
  REOPEN_WINDOW_MINUTES,
  RESOLVE_AFTER_MAX_MINUTES,
  stepIncident,
  type Change,
  type Incident,
  type Machine,
} from "../../src/detect/incident";
import type { Figures, Signal } from "../../src/detect/types";

const MINUTE = 60_000;
const T = Date.UTC(2026, 0, 5, 12, 0, 0);
const ENDPOINT = { service: "shop", method: "GET", route: "/orders/:id" };

const figures = (p95: number | null = 120): Figures => ({
  requests_per_minute: 100,
  error_rate: 0.001,
  client_error_rate: 0.01,
  silent_failure_rate: 0,
  p50_ms: 60,
  p95_ms: p95,
  p99_ms: null,
  availability_burn_1h: 0.2,
  latency_burn_1h: 0,
});

function latencySignal(observed: number, baseline = 120): Signal {
  return {
    kind: "latency_p95_baseline",
    family: "latency",
    level: "warning",
    observed,
    baseline,
    threshold: null,
    unit: "ms",
    window: "5m",
    strength: 0.5,
  };
}
function errorSignal(observed: number): Signal {
  return {
    kind: "error_rate_baseline",
    family: "availability",
    level: "warning",
    observed,
    baseline: 0.001,
    threshold: null,
    unit: "ratio",
    window: "5m",
    strength: 0.5,
  };
}
function dropSignal(observed: number): Signal {
  return {
    kind: "traffic_drop",
    family: "traffic",
    level: "warning",
    observed,
    baseline: 60,
    threshold: 0.5,
    unit: "per_minute",
    window: "5m",
    strength: 0.5,
  };
}

/** Runs one signal list per minute from T through assess and the machine. */
function replay(minutes: readonly (readonly Signal[])[], resolveAfter = 3) {
  let machine: Machine = emptyMachine();
  let recent: RecentFamilies = {};
  const steps: { change: Change; incident: Incident | null; machine: Machine }[] = [];
  minutes.forEach((signals, i) => {
    const minute = T + i * MINUTE;
    const assessment = assess(signals, recent, minute);
    recent = assessment.recent;
    const step = stepIncident(machine, {
      endpoint: ENDPOINT,
      minute,
      assessment,
      signals,
      figures: figures(),
      resolveAfter,
    });
    machine = step.machine;
    steps.push(step);
  });
  return steps;
}

const warn = [latencySignal(400)];
const crit = [latencySignal(400), errorSignal(0.2)];
const clean: Signal[] = [];

describe("stepIncident", () => {
  it("opens nothing on one WARNING minute", () => {
    const [step] = replay([warn]);
    expect(step?.change).toBeNull();
    expect(step?.incident).toBeNull();
    expect(step?.machine).toMatchObject({ open: null, streak_start: T, streak: 1 });
  });

  it("does not open on WARNING minutes that are not in a row", () => {
    const steps = replay([warn, clean, warn, clean]);
    expect(steps.map((s) => s.change)).toEqual([null, null, null, null]);
    expect(steps.at(-1)?.machine).toEqual(emptyMachine());
  });

  it("opens on the second WARNING minute in a row, dated from the first", () => {
    const steps = replay([clean, warn, warn]);
    const opened = steps[2];
    expect(opened?.change).toBe("opened");
    expect(opened?.incident).toMatchObject({
      severity: "WARNING",
      status: "open",
      opened_at: T + MINUTE,
      last_event_at: T + 3 * MINUTE,
      escalated_at: null,
    });
    expect(opened?.incident?.id).toBe(incidentId(ENDPOINT, T + MINUTE));
    // The evidence starts with the first minute too.
    expect(opened?.incident?.signals[0]?.first_event_at).toBe(T + MINUTE);
    expect(opened?.incident?.explanation).toContain("GET /orders/:id");
  });

  it("opens at once on CRITICAL", () => {
    const [step] = replay([crit]);
    expect(step?.change).toBe("opened");
    expect(step?.incident).toMatchObject({ severity: "CRITICAL", opened_at: T, action: "ESCALATE" });
  });

  it("escalates an open WARNING incident to CRITICAL", () => {
    const steps = replay([warn, warn, warn, crit]);
    expect(steps.map((s) => s.change)).toEqual([null, "opened", "updated", "escalated"]);
    expect(steps[3]?.incident).toMatchObject({ severity: "CRITICAL", escalated_at: T + 3 * MINUTE, opened_at: T });
  });

  it("never opens a second incident while one is open", () => {
    const steps = replay([crit, warn, crit, warn, clean, crit, warn]);
    expect(steps.filter((s) => s.change === "opened")).toHaveLength(1);
    expect(new Set(steps.map((s) => s.incident?.id))).toEqual(new Set([incidentId(ENDPOINT, T)]));
  });

  it("resolves only after `resolveAfter` clean minutes in a row; a dirty minute resets the count", () => {
    const steps = replay([crit, clean, clean, warn, clean, clean, clean, clean], 3);
    expect(steps.map((s) => s.change)).toEqual([
      "opened",
      "updated",
      "updated",
      "updated",
      "updated",
      "updated",
      "resolved",
      null,
    ]);
    expect(steps.map((s) => s.incident?.clean_minutes)).toEqual([0, 1, 2, 0, 1, 2, 3, undefined]);
    const resolved = steps[6]?.incident;
    expect(resolved).toMatchObject({ status: "resolved", resolved_at: T + 7 * MINUTE });
    expect(resolved?.explanation).toMatch(/Resolved after 3 clean minutes\.$/);
    // Nothing open; the resolved incident is kept only to re-open it.
    expect(steps[6]?.machine).toEqual({ ...emptyMachine(), resolved });
  });

  it("opens a new incident when trouble comes back after the re-open window", () => {
    const quiet = Array.from({ length: REOPEN_WINDOW_MINUTES }, () => clean);
    const steps = replay([crit, clean, ...quiet, crit], 1);
    expect(steps.filter((s) => s.change !== null && s.change !== "updated").map((s) => s.change)).toEqual([
      "opened",
      "resolved",
      "opened",
    ]);
    const last = steps.at(-1);
    expect(last?.incident?.id).toBe(incidentId(ENDPOINT, T + (REOPEN_WINDOW_MINUTES + 2) * MINUTE));
    expect(last?.incident?.id).not.toBe(steps[0]?.incident?.id);
    expect(last?.incident?.timeline?.map((e) => e.change)).toEqual(["opened"]);
  });

  it("re-opens the same incident when the endpoint goes bad again within the window, at the new severity", () => {
    // CRITICAL, better (resolved), then (past the families' agreement window) WARNING for two minutes: one incident, now a WARNING.
    const gap = Array.from({ length: 12 }, () => clean);
    const steps = replay([crit, clean, ...gap, warn, warn], 1);
    expect(steps.map((s) => s.change)).toEqual(["opened", "resolved", ...gap.map(() => null), null, "reopened"]);
    const again = steps.at(-1)?.incident;
    expect(again?.id).toBe(steps[0]?.incident?.id);
    expect(again).toMatchObject({
      status: "open",
      severity: "WARNING",
      resolved_at: null,
      opened_at: T,
      reopened_count: 1,
      clean_minutes: 0,
    });
    expect(again?.timeline).toEqual([
      { at: T, change: "opened", severity: "CRITICAL", signals: ["latency_p95_baseline", "error_rate_baseline"] },
      { at: T + 2 * MINUTE, change: "resolved", severity: "CRITICAL", signals: [] },
      { at: T + 14 * MINUTE, change: "reopened", severity: "WARNING", signals: ["latency_p95_baseline"] },
    ]);
    // It escalates again, on its timeline too.
    const more = replay([crit, clean, ...gap, warn, warn, crit], 1).at(-1);
    expect(more?.change).toBe("escalated");
    expect(more?.incident?.timeline?.at(-1)).toMatchObject({
      change: "escalated",
      severity: "CRITICAL",
      at: T + 16 * MINUTE,
    });
  });

  it("flapping (bad, better, bad, better ... within an hour) is one incident whose resolution needs longer each time", () => {
    const cycle = (good: number) => [crit, ...Array.from({ length: good }, () => clean)];
    // resolveAfter 3: the first resolution after 3 clean minutes; after one re-open 6 (4 clean
    // minutes are not enough: the next bad minute is part of the same open incident), then 12.
    const steps = replay([...cycle(4), ...cycle(4), ...cycle(7), ...cycle(13)], 3);
    const changes = steps.map((s) => s.change).filter((c) => c !== null && c !== "updated");
    expect(changes).toEqual(["opened", "resolved", "reopened", "resolved", "reopened", "resolved"]);
    expect(new Set(steps.map((s) => s.incident?.id).filter(Boolean)).size).toBe(1);
    const last = steps.at(-2)?.incident;
    expect(last).toMatchObject({ status: "resolved", reopened_count: 2, clean_minutes: 12 });
    expect(last?.timeline?.map((e) => e.change)).toEqual([
      "opened",
      "resolved",
      "reopened",
      "resolved",
      "reopened",
      "resolved",
    ]);
  });

  it("caps the clean minutes a re-opened incident needs", () => {
    // Bad, then clean for the cap, twelve times: one incident, never resolved for longer than the cap needs.
    const rounds = Array.from({ length: 12 }, () => [
      crit,
      ...Array.from({ length: RESOLVE_AFTER_MAX_MINUTES }, () => clean),
    ]).flat();
    const steps = replay(rounds, 1);
    expect(steps.filter((s) => s.change === "opened")).toHaveLength(1);
    const resolutions = steps.filter((s) => s.change === "resolved");
    expect(resolutions.length).toBeGreaterThanOrEqual(11);
    expect(Math.max(...resolutions.map((s) => s.incident?.clean_minutes ?? 0))).toBe(RESOLVE_AFTER_MAX_MINUTES);
  });

  it("is deterministic: the same minutes give the same incidents and ids", () => {
    const minutes = [clean, warn, warn, crit, clean, warn, clean, clean, clean];
    expect(replay(minutes)).toEqual(replay(minutes));
    expect(incidentId(ENDPOINT, T)).toBe(incidentId({ ...ENDPOINT }, T));
    expect(incidentId(ENDPOINT, T)).not.toBe(incidentId({ ...ENDPOINT, route: "/orders" }, T));
    expect(incidentId(ENDPOINT, T)).not.toBe(incidentId(ENDPOINT, T + MINUTE));
  });

  it("keeps the first baseline, the latest observation, the peak and the event times of each signal", () => {
    const steps = replay([
      [latencySignal(300, 120)],
      [latencySignal(500, 130)],
      [latencySignal(450, 140), dropSignal(20)],
      [latencySignal(410, 150), dropSignal(12)],
      [dropSignal(30)],
    ]);
    const incident = steps.at(-1)?.incident;
    expect(incident?.signals.map((e) => e.kind)).toEqual(["latency_p95_baseline", "traffic_drop"]);
    expect(incident?.signals[0]).toMatchObject({
      baseline: 120,
      observed: 410,
      peak: 500,
      first_event_at: T,
      last_event_at: T + 4 * MINUTE,
    });
    // For traffic the worst is the lowest.
    expect(incident?.signals[1]).toMatchObject({
      baseline: 60,
      observed: 30,
      peak: 12,
      first_event_at: T + 2 * MINUTE,
      last_event_at: T + 5 * MINUTE,
    });
  });

  it("gathers no evidence from info signals", () => {
    const info: Signal = { ...errorSignal(0.3), kind: "client_errors", family: "client", level: "info" };
    const steps = replay([
      [...warn, info],
      [...warn, info],
    ]);
    expect(steps[1]?.incident?.signals.map((e) => e.kind)).toEqual(["latency_p95_baseline"]);
  });
});
