/**
 * Synthetic probes are judged on their own (a probe is not traffic): their results fold into the
 * run of consecutive failures that the probe detector reads, kept in the object's `meta`. The
 * fold itself is pure.
 */
import { PROBE_FAILURES } from "../detect/detectors";
import type { ProbeStreak } from "../detect/types";
import type { WindowRecord } from "./minute-counts";
import type { ObjectMeta } from "./object-meta";
import { parseStored, ProbeStreakSchema } from "./stored-json";

/**
 * Folds probe results, in event-time order, into the run of consecutive failures `streak` (null:
 * none); probes older than the run's last are skipped. Returns the run after them (null: the last
 * probe passed) and the times of the passing probes, in the order they were folded.
 */
export function foldProbes(
  streak: ProbeStreak | null,
  probes: readonly WindowRecord[],
): { streak: ProbeStreak | null; passedAt: number[] } {
  const passedAt: number[] = [];
  for (const p of [...probes].sort((a, b) => a.timestamp - b.timestamp)) {
    if (streak && p.timestamp < streak.last_at) continue;
    // The probe runner sets `error` on every failure (wrong status, no answer, body check) and
    // `inconsistent` on a body mismatch; a probe that expects a 503 and gets it has neither.
    const failed = p.inconsistent || (p.error !== undefined && p.error !== null);
    const failures = (streak?.failures ?? 0) + 1;
    streak = failed
      ? {
          failures,
          since: streak?.since ?? p.timestamp,
          reached_at: streak?.reached_at ?? (failures >= PROBE_FAILURES ? p.timestamp : null),
          last_at: p.timestamp,
          last_status: p.status,
        }
      : null;
    if (!failed) passedAt.push(p.timestamp);
  }
  return { streak, passedAt };
}

/** The stored run of consecutive probe failures (`probe_streak` in `meta`; null: none). */
export function storedProbeStreak(store: ObjectMeta): ProbeStreak | null {
  const raw = store.get("probe_streak");
  return raw === null ? null : parseStored(ProbeStreakSchema, "probe_streak", raw);
}

/** Folds probe results into the stored run (and `probe_ok_at`, the last passing probe's time). */
export function trackProbes(store: ObjectMeta, probes: readonly WindowRecord[]): void {
  const { streak, passedAt } = foldProbes(storedProbeStreak(store), probes);
  for (const at of passedAt) store.set("probe_ok_at", String(at));
  if (streak) store.set("probe_streak", JSON.stringify(streak));
  else store.delete("probe_streak");
}
