/**
 * One flush attempt of a buffered batch to D1. A batch that keeps failing is tried row by row,
 * so that one row D1 will never take (a constraint it breaks, a value too large) cannot block
 * the endpoint's backlog forever: such rows are quarantined, not dropped. Two failures are not
 * the row's fault and never quarantine anything: D1 being down (every row fails and D1 does not
 * answer a probe) and D1 being full (a capacity error: D1 still answers reads, so the probe
 * cannot tell; the message can). Both leave the records buffered for a later try.
 */
import { isCapacityError } from "../db/capacity";
import { writeLogBatch } from "../db/log-writer";

/** Consecutive failures of a batch after which its rows are tried one by one. */
export const ISOLATE_AFTER_FAILURES = 3;

export interface Batch {
  keys: string[];
  bodies: string[];
}

export interface PoisonedRow {
  key: string;
  body: string;
  error: string;
}

export type FlushOutcome =
  | { kind: "written" }
  /** `full`: D1 refused for capacity; `written`: rows committed one by one before the failure. */
  | { kind: "failed"; error: unknown; full: boolean; written: string[] }
  | { kind: "isolated"; written: string[]; poisoned: PoisonedRow[] };

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function d1Answers(db: D1Database): Promise<boolean> {
  try {
    await db.prepare("SELECT 1").first();
    return true;
  } catch {
    return false;
  }
}

/** Tries each row on its own: rows D1 takes are written, rows it refuses are poisoned, unless D1 is full. */
export async function writeRowByRow(db: D1Database, batch: Batch, now: number): Promise<FlushOutcome> {
  const written: string[] = [];
  const poisoned: PoisonedRow[] = [];
  for (let i = 0; i < batch.keys.length; i++) {
    const key = batch.keys[i] ?? "";
    const body = batch.bodies[i] ?? "";
    try {
      await writeLogBatch(db, [body], now);
      written.push(key);
    } catch (rowError) {
      if (isCapacityError(rowError)) return { kind: "failed", error: rowError, full: true, written };
      poisoned.push({ key, body, error: message(rowError) });
    }
  }
  return { kind: "isolated", written, poisoned };
}

/** Writes `batch` to D1; `failuresSoFar` is how often this endpoint's flush failed in a row before. */
export async function flushBatch(db: D1Database, batch: Batch, now: number, failuresSoFar: number): Promise<FlushOutcome> {
  try {
    await writeLogBatch(db, batch.bodies, now);
    return { kind: "written" };
  } catch (error) {
    if (isCapacityError(error)) return { kind: "failed", error, full: true, written: [] };
    if (failuresSoFar + 1 < ISOLATE_AFTER_FAILURES) return { kind: "failed", error, full: false, written: [] };
    const outcome = await writeRowByRow(db, batch, now);
    if (outcome.kind === "isolated" && outcome.written.length === 0 && !(await d1Answers(db))) {
      return { kind: "failed", error, full: false, written: [] };
    }
    return outcome;
  }
}
