/**
 * The endpoint buffer's marks (how far D1 and R2 took the chunks, and what goes with that), and
 * the pure steps that move them; RecordBuffer keeps them in memory and saves them. Pure.
 */
import type { BufferMarks } from "./stored-json";

/**
 * The buffer's marks, one `meta` row (`buffer_marks`; its zod schema in stored-json.ts):
 * - `d1`: where the next row to flush is; `r2`: chunks before this seq are archived;
 * - `taken`: [time, seq] entries: by `time`, every chunk before `seq` was taken (by D1, and R2
 *   when it counts), newest last;
 * - `flushed`, `archived`: records D1 and R2 took over the object's life (with the marks: no
 *   counter row per flush); `flushed_at`: when D1 last took a batch;
 * - `pruned`: chunks before this seq are pruned: spare rows, their counts folded and keys
 *   forgotten, reused by later hand-offs;
 * - `capped`: hours (start) flushed at the D1 cap whose summary rows are not written yet (see
 *   capped-summaries.ts); `capped_written`: hours whose summary row the object wrote (for the
 *   hour windows' 72 hours), written again when a later flush sends raw rows of them (the cron's
 *   recount of those rows alone would stay below the object's row, which would then miss them);
 * - `r2_pass`: the chunk range [from, next) of the R2 pass in progress, saved before its puts: a
 *   retry (after an R2 failure or an eviction) reads exactly these chunks again, whatever the pass
 *   limits or the sampling policy are by then, and so overwrites every object the first try wrote.
 */
export type Marks = BufferMarks;

/**
 * How urgently moved marks must be saved: "replayable" when losing them only sends again what D1
 * and R2 took (D1 ignores a re-sent row of a flush that kept every row; an R2 pass is retried over
 * its saved range), "must" otherwise (a sample, the quarantine, the capped hours).
 */
export type Unsaved = "none" | "replayable" | "must";

/** How long an hour whose summary the object wrote is remembered: the hour windows' span. */
export const CAPPED_WRITTEN_KEPT_MS = 72 * 3_600_000;

/** Entries of `taken` closer than this are merged into the later one (later time: chunks kept a little longer, never less). */
export const TAKEN_GRAIN_MS = 60_000;

/**
 * `marks` with its `taken` list brought up to date at `at`: chunks before `cut` were taken by then
 * (entries closer than TAKEN_GRAIN_MS merge into the later one; of the entries past `windowMs`
 * only the newest stays, it alone still decides what may go).
 */
export function withTaken(marks: Marks, cut: number, at: number, windowMs: number): Marks {
  const taken = [...(marks.taken ?? [])];
  const last = taken[taken.length - 1];
  if (cut > (last?.[1] ?? 0)) {
    if (last && at - last[0] < TAKEN_GRAIN_MS) taken[taken.length - 1] = [Math.max(at, last[0]), cut];
    else taken.push([at, cut]);
  }
  const old = taken.filter(([t]) => t <= at - windowMs).length;
  if (old > 1) taken.splice(0, old - 1);
  return { ...marks, taken };
}

/** The seq before which every chunk was taken at least `windowMs` before `now` (0: none). */
export function takenBefore(marks: Marks, now: number, windowMs: number): number {
  return (marks.taken ?? []).filter(([at]) => at <= now - windowMs).reduce((max, [, seq]) => Math.max(max, seq), 0);
}

/** `marks` with the summaries of `hours` written at `now`: out of `capped`, into `capped_written` (kept CAPPED_WRITTEN_KEPT_MS). */
export function cappedWrittenAt(marks: Marks, hours: readonly number[], now: number): Marks {
  const done = new Set(hours);
  const left = (marks.capped ?? []).filter((h) => !done.has(h));
  const keptFrom = now - CAPPED_WRITTEN_KEPT_MS;
  const written = [...new Set([...(marks.capped_written ?? []), ...hours])].filter((h) => h >= keptFrom);
  return {
    ...marks,
    capped: left.length > 0 ? left : undefined,
    capped_written: written.length > 0 ? written : undefined,
  };
}
