/**
 * The detection engine's state in the endpoint object's `meta`: one row for the state, and the
 * daily profile in a row of its own (the profile changes at most once an hour, the rest every
 * evaluation, so only the small part is rewritten).
 */
import { emptyEngineState, type EngineState } from "../detect/evaluate";
import type { SeasonProfile } from "../detect/season";
import type { ObjectMeta } from "./object-meta";

/** The stored engine state, with its daily profile (an empty state when none is stored). */
export function loadEngineState(store: ObjectMeta): EngineState {
  const raw = store.get("engine_state");
  const state = raw === null ? emptyEngineState() : (JSON.parse(raw) as EngineState);
  const profile = store.get("season_profile");
  return { ...state, season: profile === null ? null : (JSON.parse(profile) as SeasonProfile) };
}

/** Stores the engine state; the profile's row only when `profileChanged`. */
export function saveEngineState(store: ObjectMeta, state: EngineState, profileChanged: boolean): void {
  const { season, ...rest } = state;
  store.set("engine_state", JSON.stringify(rest));
  if (profileChanged && season) store.set("season_profile", JSON.stringify(season));
}
