/**
 * How long an endpoint is usually silent. A traffic stop is no request at all in a window that
 * expected some; but an endpoint whose traffic comes in bursts (a batch an hour, a handful of
 * purchases) is silent for long runs as a matter of course, and judging its silences against a
 * Poisson expectation calls each one a stop. So the longest silence of the recent past is kept
 * (fading over about SILENCE_MEMORY_MINUTES), and a stop needs a silence longer than
 * SILENCE_MARGIN times it. An endpoint with steady traffic is never silent for a whole minute,
 * so its stops are judged exactly as before. Pure.
 */

/** Minutes over which the longest past silence fades (three days). */
export const SILENCE_MEMORY_MINUTES = 3 * 1440;
/** A stop must last longer than this many times the longest recent silence. */
export const SILENCE_MARGIN = 1.5;

export interface SilenceState {
  /** Minutes without a request, up to the last evaluated one. */
  run: number;
  /** The longest silence of the recent past (minutes, fading), the current run not included. */
  longest: number;
}

export const emptySilence = (): SilenceState => ({ run: 0, longest: 0 });

/** Folds one minute's request count in. */
export function silenceStep(state: SilenceState, requests: number): SilenceState {
  const faded = state.longest * (1 - 1 / SILENCE_MEMORY_MINUTES);
  if (requests === 0) return { run: state.run + 1, longest: faded };
  return { run: 0, longest: Math.max(faded, state.run) };
}

/** Whether the current silence (`state` after this minute) is longer than this endpoint's usual ones. */
export function unusualSilence(state: SilenceState): boolean {
  return state.run > SILENCE_MARGIN * state.longest;
}

/**
 * Drops, likewise: the deepest dip of the recent past (requests in the drop window over those
 * expected), fading back towards 1 over SILENCE_MEMORY_MINUTES. A dip is a run of minutes at
 * DIP_RATIO or less of the expected requests; its depth is learnt when it ends, so the slow
 * slide into a dip is judged against the dips before it, not against its own previous minute.
 * A drop must go DIP_MARGIN times deeper than the recent dips (depth: 1 - ratio) to start; once
 * it fires it keeps firing while the window stays low, so one long drop is one run. Traffic that
 * routinely falls to a fraction of its level (bursty, or an hour of day the profile does not
 * know well) is not a new drop each time.
 */
export const DIP_MARGIN = 1.1;
/** A minute at this share of the expected requests or less is part of a dip (the drop detector's own ratio). */
export const DIP_RATIO = 0.5;

export interface DipState {
  /** The deepest ratio of requests to those expected of the recent dips (1: none). */
  low: number;
  /** The deepest ratio of the dip going on (null: none; absent in dips stored before it existed). */
  current?: number | null;
  /** Whether a drop fired on the previous minute. */
  dropping: boolean;
}

export const emptyDip = (): DipState => ({ low: 1, current: null, dropping: false });

/**
 * Judges one minute's drop window (`ratio` of requests to those expected; `lowEnough`: the
 * detector's own drop test passed) and learns the depth of a dip once it is over.
 */
export function dipStep(state: DipState, ratio: number, lowEnough: boolean): { state: DipState; fired: boolean } {
  const faded = 1 - (1 - state.low) * (1 - 1 / SILENCE_MEMORY_MINUTES);
  if (ratio > DIP_RATIO)
    return { state: { low: Math.min(faded, state.current ?? 1), current: null, dropping: false }, fired: false };
  const fired = lowEnough && (state.dropping || 1 - ratio > DIP_MARGIN * (1 - state.low));
  return { state: { low: faded, current: Math.min(state.current ?? 1, ratio), dropping: fired }, fired };
}
