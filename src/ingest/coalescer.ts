/**
 * Coalesces the background hand-offs of concurrent requests in one isolate: records that arrive
 * within 20 ms travel together, so the Durable Objects get one RPC per
 * endpoint per batch of requests instead of one per request (the hand-off RPC is most of the
 * CPU a small request costs).
 *
 * The request that opens a batch owns it: its `waitUntil` holds the send, with the retries and
 * fallbacks of `handOff`. Requests that join only add their records; they await nothing that
 * belongs to another request's context, so no promise is resolved across requests. The owner's
 * `waitUntil` keeps the isolate working until the whole batch is stored or accounted for.
 */
import { log } from "../lib/log";
import { ingestCounters } from "./counters";
import { handOff } from "./handoff";
import { addInFlight, settleInFlight } from "./in-flight";
import type { LogRecord } from "./record";
import { errorMessage } from "../lib/errors";

/**
 * How long a batch stays open for other requests' records. Under load a request arrives every
 * few milliseconds per isolate; 20 ms gathers several (2 ms gathered about one, measured with
 * `npm run bench:proxy`: 0.84x -> 0.89x of the bare pass-through; 50 ms gained nothing more).
 */
export const COALESCE_WINDOW_MS = 20;
/** A batch is closed once it holds this many records. */
export const COALESCE_MAX_RECORDS = 500;

interface OpenBatch {
  records: LogRecord[];
}

let open: OpenBatch | null = null;

/**
 * Adds records to this isolate's open batch. Returns the send for the caller's `waitUntil` when
 * the caller opened the batch, or null when its records joined one another request owns.
 */
export function coalesceHandOff(env: Env, records: LogRecord[]): Promise<unknown> | null {
  if (records.length === 0) return null;
  // Every record counts as in flight until its batch's hand-off settles (see in-flight.ts).
  addInFlight(records.length);
  if (open && open.records.length + records.length <= COALESCE_MAX_RECORDS) {
    open.records.push(...records);
    return null;
  }
  const batch: OpenBatch = { records: [...records] };
  open = batch;
  return new Promise<void>((resolve) => setTimeout(resolve, COALESCE_WINDOW_MS))
    .then(() => {
      if (open === batch) open = null;
      return handOff(env, batch.records);
    })
    .catch((err: unknown) => {
      // handOff accounts for every record itself; this only catches a bug in it, and then counts
      // the whole batch as dropped (some may have been stored: better over than under).
      ingestCounters.dropped += batch.records.length;
      log("error", "handoff_crashed", {
        records: batch.records.length,
        record_keys: batch.records.map((r) => r.key),
        message: errorMessage(err),
      });
    })
    .finally(() => settleInFlight(batch.records.length));
}
