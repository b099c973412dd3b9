/**
 * The detection engine's state in the endpoint object's `meta`: one row for the state, and the
 * daily profile in a row of its own (the profile changes at most once an hour, the rest every
 * evaluation, so only the small part is rewritten). Both are parsed with zod when read
 * (src/detect/state-schemas.ts: never stricter than what any version stored). The schema only
 * checks: what the engine gets is JSON.parse's own value, so it reads exactly what the cast read,
 * down to the order of the keys (zod would rebuild each object in its shape's order).
 *
 * A value that does not parse fails loudly, naming its key (`stored engine_state has an
 * unexpected shape: ...`), as the object's other stored JSON does (stored-json.ts); it is not
 * replaced by an empty state. The open incident lives in the machine inside `engine_state`: a
 * fresh state would orphan it (never resolved, its alerts never closed) and open a duplicate on
 * the next bad minute, and the baselines and the daily profile would be relearnt in silence. So
 * the evaluation's transaction fails and rolls back, leaving the stored value as it was: the
 * hand-off itself still succeeds (its records are committed before detection runs, and a
 * detection failure is logged as `detection_failed` with this message, see detection-job.ts),
 * detection of that endpoint stops until the value is repaired, and nothing is lost meanwhile:
 * the latency objective the flush, the windows and a wake's replay need falls back to the
 * configured one (`latencyObjectiveMs`), so the alarm still flushes, publishes and sends alerts.
 */
import type * as z from "zod";
import { emptyEngineState, type EngineState } from "../detect/evaluate";
import type { SeasonProfile } from "../detect/season";
import { EngineStateSchema, SeasonProfileSchema } from "../detect/state-schemas";
import type { ObjectMeta } from "./object-meta";
import { storedShapeError } from "./stored-json";

/**
 * The text last accepted under each key, per object (its `meta`): the rows are read on every hand-off (the latency
 * objective) and the profile changes at most hourly, so a text already checked is not checked again.
 */
const acceptedBy = new WeakMap<ObjectMeta, Map<string, string>>();

/** JSON.parse's value of the stored `text` of `key`, once `schema` accepts it; throws naming the key otherwise. */
function checked<T>(schema: z.ZodType<T>, key: string, text: string, store?: ObjectMeta): T {
  const value: unknown = JSON.parse(text);
  let accepted = store && acceptedBy.get(store);
  if (accepted?.get(key) === text) return value as T;
  const result = schema.safeParse(value);
  if (!result.success) throw storedShapeError(key, result.error);
  if (store && !accepted) acceptedBy.set(store, (accepted = new Map<string, string>()));
  accepted?.set(key, text);
  // The schemas transform nothing: `value` is `result.data`, with its keys in their stored order.
  return value as T;
}

/** The stored `engine_state` (its text), checked. */
export const readEngineState = (text: string, store?: ObjectMeta): EngineState =>
  checked(EngineStateSchema, "engine_state", text, store);

/** The stored `season_profile` (its text), checked. */
export const readSeasonProfile = (text: string, store?: ObjectMeta): SeasonProfile =>
  checked(SeasonProfileSchema, "season_profile", text, store);

/** The stored engine state, with its daily profile (an empty state when none is stored); throws naming the key of a value that does not parse. */
export function loadEngineState(store: ObjectMeta): EngineState {
  const raw = store.get("engine_state");
  const state = raw === null ? emptyEngineState() : readEngineState(raw, store);
  const profile = store.get("season_profile");
  return { ...state, season: profile === null ? null : readSeasonProfile(profile, store) };
}

/** Stores the engine state; the profile's row only when `profileChanged`. */
export function saveEngineState(store: ObjectMeta, state: EngineState, profileChanged: boolean): void {
  const { season, ...rest } = state;
  store.set("engine_state", JSON.stringify(rest));
  if (profileChanged && season) store.set("season_profile", JSON.stringify(season));
}
