/**
 * One flush attempt of a buffered batch to D1. A batch that keeps failing is tried row by row,
 * so that one row D1 will never take (a constraint it breaks, a value too large) cannot block
 * the endpoint's backlog forever: such rows are quarantined, not dropped. Two failures are not
 * the row's fault and never quarantine anything: D1 being down (every row fails and D1 does not
 * answer a probe) and D1 being full (a capacity error: D1 still answers reads, so the probe
 * cannot tell; the message can). Both leave the records buffered for a later try.
 *
 * Only the rows the sampling policy picks (src/storage/sampling.ts) go to D1, each with its
 * weight; the others are done once the batch is. A failed batch is retried whole: the bottom-k
 * choice picks the same rows with the same weights again.
 */
import { isCapacityError } from "../db/capacity";
import { LOG_COLUMNS, writeLogBatch, type LogRow } from "../db/log-writer";
import { ALL_RECORDS } from "../storage/policy";
import { selectForD1, type SampledRecord, type SamplingPolicy } from "../storage/sampling";

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
  /** `complete`: every row of the batch was sent (none sampled out), so sending it again is a no-op in D1. */
  | { kind: "written"; complete: boolean }
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

const at = (name: (typeof LOG_COLUMNS)[number]) => LOG_COLUMNS.indexOf(name);
const [KEY, TS, STATUS, LATENCY, ERROR, EMPTY, SOURCE, INCONSISTENT, WEIGHT] = (
  [
    "record_key",
    "timestamp",
    "status",
    "latency_ms",
    "error",
    "response_empty",
    "source",
    "inconsistent",
    "weight",
  ] as const
).map(at);

interface BatchRow extends SampledRecord {
  index: number;
  row: LogRow;
}

function toSampled(body: string, index: number): BatchRow {
  const row = JSON.parse(body) as LogRow;
  const get = (i: number | undefined) => row[i ?? 0];
  return {
    index,
    row,
    key: String(get(KEY)),
    timestamp: Number(get(TS)),
    status: Number(get(STATUS)),
    latency_ms: Number(get(LATENCY)),
    error: (get(ERROR) as string | null) ?? null,
    response_empty: get(EMPTY) === 1,
    inconsistent: get(INCONSISTENT) === 1,
    source: String(get(SOURCE)),
  };
}

/**
 * The part of `batch` that goes to D1 under `policy` (null: none), each body carrying its weight,
 * and the keys left out. Every record in `all` mode, unparsed.
 */
export function chooseRows(batch: Batch, policy: SamplingPolicy | null): { chosen: Batch; left: string[] } {
  if (policy === null) return { chosen: { keys: [], bodies: [] }, left: [...batch.keys] };
  if (policy.mode === "all") return { chosen: batch, left: [] };
  const { kept } = selectForD1(batch.bodies.map(toSampled), policy);
  const chosen: Batch = { keys: [], bodies: [] };
  const taken = new Set<number>();
  for (const { record, weight } of kept.sort((a, b) => a.record.index - b.record.index)) {
    taken.add(record.index);
    chosen.keys.push(batch.keys[record.index] ?? record.key);
    const weighted = [...record.row] as unknown[];
    weighted[WEIGHT ?? LOG_COLUMNS.length - 1] = weight;
    chosen.bodies.push(weight === 1 ? (batch.bodies[record.index] ?? "") : JSON.stringify(weighted));
  }
  return { chosen, left: batch.keys.filter((_, i) => !taken.has(i)) };
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

/**
 * Writes the rows of `batch` that `policy` picks to D1 (every row by default; none when null);
 * `failuresSoFar` is how often this endpoint's flush failed in a row before. `written` of an
 * isolated batch includes the rows left out by the policy: they are done with the batch.
 */
export async function flushBatch(
  db: D1Database,
  batch: Batch,
  now: number,
  failuresSoFar: number,
  policy: SamplingPolicy | null = ALL_RECORDS,
): Promise<FlushOutcome> {
  const { chosen, left } = chooseRows(batch, policy);
  try {
    await writeLogBatch(db, chosen.bodies, now);
    return { kind: "written", complete: left.length === 0 };
  } catch (error) {
    if (isCapacityError(error)) return { kind: "failed", error, full: true, written: [] };
    if (failuresSoFar + 1 < ISOLATE_AFTER_FAILURES) return { kind: "failed", error, full: false, written: [] };
    const outcome = await writeRowByRow(db, chosen, now);
    if (outcome.kind === "isolated" && outcome.written.length === 0 && !(await d1Answers(db))) {
      return { kind: "failed", error, full: false, written: [] };
    }
    return outcome.kind === "isolated" ? { ...outcome, written: [...outcome.written, ...left] } : outcome;
  }
}
