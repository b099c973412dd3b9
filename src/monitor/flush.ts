/**
 * One flush attempt of a buffered batch to D1. A batch that keeps failing is tried row by row,
 * so that one row D1 will never take (a constraint it breaks, a value too large) cannot block
 * the endpoint's backlog forever: such rows are quarantined, not dropped. When every row fails
 * and D1 does not answer a probe either, D1 is down and nothing is quarantined.
 */
import { writeLogBatch } from "../db/log-writer";

/** Consecutive failures of a batch after which its rows are tried one by one. */
export const ISOLATE_AFTER_FAILURES = 3;

export interface Batch {
  keys: string[];
  bodies: string[];
}

export type FlushOutcome =
  | { kind: "written" }
  | { kind: "failed"; error: unknown }
  | { kind: "isolated"; written: string[]; poisoned: { key: string; body: string; error: string }[] };

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function d1Answers(db: D1Database): Promise<boolean> {
  try {
    await db.prepare("SELECT 1").first();
    return true;
  } catch {
    return false;
  }
}

/** Writes `batch` to D1; `failuresSoFar` is how often this endpoint's flush failed in a row before. */
export async function flushBatch(db: D1Database, batch: Batch, now: number, failuresSoFar: number): Promise<FlushOutcome> {
  try {
    await writeLogBatch(db, batch.bodies, now);
    return { kind: "written" };
  } catch (error) {
    if (failuresSoFar + 1 < ISOLATE_AFTER_FAILURES) return { kind: "failed", error };
    const written: string[] = [];
    const poisoned: { key: string; body: string; error: string }[] = [];
    for (let i = 0; i < batch.keys.length; i++) {
      const key = batch.keys[i] ?? "";
      const body = batch.bodies[i] ?? "";
      try {
        await writeLogBatch(db, [body], now);
        written.push(key);
      } catch (rowError) {
        poisoned.push({ key, body, error: message(rowError) });
      }
    }
    if (written.length === 0 && !(await d1Answers(db))) return { kind: "failed", error };
    return { kind: "isolated", written, poisoned };
  }
}
