/**
 * The monitor's `tail()` handler: a Worker that lists the monitor in its `tail_consumers` has
 * each invocation delivered here after it finished. Its fetch invocations take the ingest path
 * (validation, redaction, the coalesced hand-off to the endpoint objects); nothing is thrown back
 * to the runtime, which could only drop the batch and log an error nobody reads.
 */
import { switches } from "../control/switches";
import { log } from "../lib/log";
import { serviceCapError, splitByServiceCap } from "../ingest/caps";
import { coalesceHandOff } from "../ingest/coalescer";
import { ingestCounters } from "../ingest/counters";
import { redactEmailsSetting } from "../ingest/privacy-settings";
import { retentionMs } from "../config";
import { traceItemsToRecords } from "./trace";
import { errorMessage } from "../lib/errors";

/** This isolate's tail counters (per isolate, like the ingest counters). */
export const tailCounters = {
  events: 0,
  records: 0,
  rejected: 0,
  /** Non-fetch events (scheduled, queue, alarm...) that are not HTTP traffic. */
  skipped: 0,
  /** Dropped while the operator paused ingestion (a tail event cannot be sent again). */
  paused: 0,
  failures: 0,
};

const MAX_LOGGED_ERRORS = 5;

/** Tail Worker entry: trace items of the producing Workers become records. Never throws. */
export async function tail(events: TraceItem[], env: Env, ctx: ExecutionContext): Promise<void> {
  try {
    tailCounters.events += events.length;
    if (!(await switches(env.DB)).ingestion) {
      tailCounters.paused += events.length;
      log("warn", "tail_dropped_ingestion_paused", { events: events.length });
      return;
    }
    const now = Date.now();
    const batch = traceItemsToRecords(events, {
      now,
      retentionMs: retentionMs(env),
      newKey: () => crypto.randomUUID(),
      redactEmails: redactEmailsSetting(env),
    });
    const capped = await splitByServiceCap(env, batch.records, (p) => ctx.waitUntil(p));
    batch.records = capped.kept;
    if (capped.refused.length > 0) {
      // Records of services MAX_SERVICES refuses: counted as rejected, named in the log.
      tailCounters.rejected += capped.refused.length;
      ingestCounters.rejected += capped.refused.length;
      log("warn", "tail_records_rejected", {
        rejected: capped.refused.length,
        services: [...new Set(capped.refused.map((r) => r.service))].slice(0, MAX_LOGGED_ERRORS),
        error: serviceCapError(env),
      });
    }
    const skipped = Object.values(batch.skipped).reduce((a, b) => a + b, 0);
    tailCounters.records += batch.records.length;
    tailCounters.rejected += batch.rejected.length;
    tailCounters.skipped += skipped;
    ingestCounters.accepted += batch.records.length;
    ingestCounters.rejected += batch.rejected.length;
    if (batch.rejected.length > 0) {
      log("warn", "tail_records_rejected", {
        rejected: batch.rejected.length,
        first: batch.rejected.slice(0, MAX_LOGGED_ERRORS),
      });
    }
    const send = coalesceHandOff(env, batch.records);
    if (send) ctx.waitUntil(send);
  } catch (err) {
    tailCounters.failures++;
    log("error", "tail_failed", { events: Array.isArray(events) ? events.length : null, message: errorMessage(err) });
  }
}
