/**
 * One evaluation of one closed minute of event time: detectors, correlation into health, and the
 * incident state machine, over the engine state the endpoint Durable Object keeps as JSON. The
 * same function runs for live traffic, for replays in event time and for re-evaluation from D1,
 * which is why they agree. Pure.
 */
import { consumerSignals } from "../breakdown/objectives";
import type { DetectionConfig } from "./config";
import { emptyDetectorState, type DetectorState } from "./detector-state";
import { detect } from "./detectors";
import { assess, type Assessment, type RecentFamilies } from "./health";
import { emptyMachine, stepIncident, type Change, type Endpoint, type Incident, type Machine } from "./incident";
import type { SeasonProfile } from "./season";
import type { Figures, Signal, Snapshot } from "./types";

export interface EngineState {
  detectors: DetectorState;
  recent: RecentFamilies;
  machine: Machine;
  /** The daily profile (changes at most once an hour: the endpoint object stores it in a row of its own). */
  season?: SeasonProfile | null;
}

export const emptyEngineState = (): EngineState => ({
  detectors: emptyDetectorState(),
  recent: {},
  machine: emptyMachine(),
});

export interface Evaluation {
  state: EngineState;
  minute: number;
  signals: Signal[];
  assessment: Assessment;
  figures: Figures;
  change: Change;
  /** The incident this minute opened, updated or resolved. */
  incident: Incident | null;
}

export function evaluateMinute(
  state: EngineState,
  snapshot: Snapshot,
  cfg: DetectionConfig,
  endpoint: Endpoint,
): Evaluation {
  const minute = snapshot.minute_start;
  const detected = detect(snapshot, state.detectors, cfg, state.season ?? null);
  const { state: detectors, figures, profile } = detected;
  const signals = snapshot.consumers?.length
    ? [...detected.signals, ...consumerSignals(snapshot.consumers)]
    : detected.signals;
  const assessment = assess(signals, state.recent, minute);
  const step = stepIncident(state.machine, {
    endpoint,
    minute,
    assessment,
    signals,
    figures,
    resolveAfter: cfg.resolve_after_minutes,
  });
  return {
    state: { detectors, recent: assessment.recent, machine: step.machine, season: profile },
    minute,
    signals,
    assessment,
    figures,
    change: step.change,
    incident: step.incident,
  };
}
