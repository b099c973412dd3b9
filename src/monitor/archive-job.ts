/**
 * The endpoint object's R2 write-through (see archive-through.ts for the objects it writes): at
 * most once every ARCHIVE_EVERY_MS per object, at once on the first pass after a wake or past
 * ARCHIVE_EAGER_RECORDS waiting records, backed off after a failure.
 */
import { log } from "../lib/log";
import type { AlarmSchedule } from "./alarm-schedule";
import { ARCHIVE_PASS_BYTES, ARCHIVE_PASS_CHUNKS, markWriteThrough, writeThrough } from "./archive-through";
import { flushBackoffMs } from "./minute-counts";
import { errorMessage } from "../lib/errors";
import type { MonitorContext } from "./monitor-context";

/**
 * An endpoint object writes through to R2 at most this often, unless ARCHIVE_EAGER_RECORDS wait:
 * a put per flush was a class A operation ($4.50 per million) per record for an endpoint with a
 * record per flush. The first pass after a wake goes at once.
 */
export const ARCHIVE_EVERY_MS = 60_000;
const ARCHIVE_EAGER_RECORDS = 5000;
/** Time one alarm may spend flushing (or writing through) before it hands over to the next alarm. */
export const FLUSH_BUDGET_MS = 20_000;

export class ArchiveJob {
  /** No write-through pass before this time (backoff after an R2 failure). */
  retryAt = 0;
  /** When the last write-through pass ran (0: not since the object woke). */
  private archivedAt = 0;
  /** Whether this object wrote the write-through marker (see archive-through.ts) since it woke. */
  private marked = false;

  constructor(
    private readonly c: MonitorContext,
    private readonly alarm: AlarmSchedule,
  ) {}

  /** Records waiting for the R2 write-through (undefined without an ARCHIVE bucket). */
  backlog(): number | undefined {
    return this.c.archive() ? this.c.buffer.archiveBacklog() : undefined;
  }

  /** When the next write-through pass is due at clock `now`: ARCHIVE_EVERY_MS after the last put, or now when many records (or none) wait. */
  dueAt(now: number): number {
    if (this.c.archive() === null || this.archivedAt === 0) return now;
    const due = this.archivedAt + ARCHIVE_EVERY_MS;
    // Chunks without records (duplicates only) cost no put: their pass only moves the mark.
    const waiting = this.c.buffer.archiveBacklog();
    return due <= now || waiting === 0 || waiting >= ARCHIVE_EAGER_RECORDS ? now : due;
  }

  /**
   * Writes the buffered chunks the archive has not taken to R2, pass by pass within the budget.
   * A failure keeps them (they are not pruned before R2 took them), is counted and logged, and
   * backs the write-through off; D1 flushes go on meanwhile. Only the chunks before `beforeSeq`
   * (all by default); true when they are all in R2 (or nothing is bound).
   */
  async writeThrough(beforeSeq?: number): Promise<boolean> {
    const bucket = this.c.archive();
    if (!bucket) return true;
    if (Date.now() < this.retryAt) return false;
    const { buffer, store } = this.c;
    const started = Date.now();
    while (Date.now() - started < FLUSH_BUDGET_MS) {
      const pass = buffer.nextArchiveBatch(ARCHIVE_PASS_BYTES, ARCHIVE_PASS_CHUNKS, beforeSeq);
      if (pass.next === pass.from) return true;
      // The real clock: a test's later `now` must not hold back the next pass.
      if (pass.rows.length > 0) this.archivedAt = Date.now();
      const failuresSoFar = Number(store.get("consecutive_archive_failures") ?? 0);
      try {
        if (!this.marked && store.get("write_through_marked") === null) {
          await markWriteThrough(bucket, Date.now());
          store.set("write_through_marked", "1");
        }
        this.marked = true;
        const put =
          pass.rows.length > 0 ? await writeThrough(bucket, pass.rows, pass.from, this.c.id) : { objects: 0, bytes: 0 };
        this.c.meter.add({ r2_bytes_written: put.bytes });
        // Saved with the D1 mark at the end of the flush, or before the next pass.
        buffer.markArchived(pass.next, pass.rows.length);
        if (failuresSoFar !== 0) store.set("consecutive_archive_failures", "0");
      } catch (err) {
        const failures = failuresSoFar + 1;
        this.retryAt = Date.now() + flushBackoffMs(failures);
        this.c.storage.transactionSync(() => {
          store.set("consecutive_archive_failures", String(failures));
          store.addCounters({ archive_failures: 1 });
        });
        log("error", "archive_write_through_failed", {
          endpoint: this.c.name,
          records: buffer.archiveBacklog(),
          consecutive_failures: failures,
          retry_in_ms: this.retryAt - Date.now(),
          message: errorMessage(err),
        });
        await this.alarm.schedule(this.retryAt);
        return false;
      }
    }
    return false;
  }
}
