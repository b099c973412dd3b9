/**
 * JSON the endpoint object keeps in its `meta` table, parsed with zod when it is read back on wake
 * (a value of an unexpected shape fails loudly, naming the key, instead of being cast). Values read
 * on every hand-off (chunk rows) or per bucket of every evaluation (the windows' latency sketches,
 * window-rows.ts) stay plain JSON.parse: they are written by the same code a moment earlier, and
 * zod's cost there would be per record or per bucket. The engine state (engine-state-rows.ts) and
 * the incidents, published state, groups and token buckets (src/lib/stored-schema.ts) are checked.
 */
import * as z from "zod";

const position = z.object({ seq: z.number().int(), offset: z.number().int().nonnegative() });
const pair = z.tuple([z.number(), z.number()]);

/** `buffer_marks` (see record-buffer.ts). */
export const BufferMarksSchema = z.object({
  d1: position,
  r2: z.number().int(),
  taken: z.array(pair).optional(),
  flushed: z.number().optional(),
  archived: z.number().optional(),
  flushed_at: z.number().optional(),
  pruned: z.number().int().optional(),
  capped: z.array(z.number()).optional(),
  capped_written: z.array(z.number()).optional(),
  r2_pass: pair.optional(),
});
export type BufferMarks = z.infer<typeof BufferMarksSchema>;

/** `windows_absorbed` (see windows-checkpoint.ts). */
export const AbsorbedMarkSchema = z.object({ below: z.number().int(), also: z.array(z.number().int()) });

/** `probe_streak` (see probe-streak.ts): the schema lives beside the `ProbeStreak` type it defines. */
export { ProbeStreakSchema } from "../detect/types";

/** `last_version` (see follow-up-job.ts). */
export const LastVersionSchema = z.object({ version: z.string(), at: z.number() });

/** Parses the stored `text` of `key` with `schema`; throws naming the key when it does not match. */
export function parseStored<T>(schema: z.ZodType<T>, key: string, text: string): T {
  const result = schema.safeParse(JSON.parse(text));
  if (!result.success) throw storedShapeError(key, result.error);
  return result.data;
}

/** The error of a stored value of `key` that its schema rejected (`error`), naming the key. */
export function storedShapeError(key: string, error: z.ZodError): Error {
  return new Error(`stored ${key} has an unexpected shape: ${z.prettifyError(error)}`);
}
