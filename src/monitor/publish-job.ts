/**
 * The endpoint object's publishing: incidents, health, counters and its cost copied to D1 (in
 * rounds of 100 incidents), with a backoff after a failure. The cost is counted in memory and
 * persisted with the publish (a write that happens anyway), so counting costs no extra write.
 */
import { addCounts, countsFrom, StoredCountsSchema, type CostCounts } from "../cost/counts";
import { log } from "../lib/log";
import { parseStoredOrNull } from "../lib/stored-schema";
import { REQUEST_COUNTER_NAMES, requestMetricsFrom, type RequestMetrics } from "../metrics/request-counters";
import type { ArchiveJob } from "./archive-job";
import { errorMessage } from "../lib/errors";
import type { MonitorContext } from "./monitor-context";

export class PublishJob {
  /** Consecutive failed copies to D1 of detection results (for the retry backoff). */
  syncFailures = 0;
  /**
   * What the object had counted of its billable work before it was loaded; what this instance
   * counts is in the context's meter (an eviction loses only what was counted since the last publish).
   */
  private costBase: CostCounts = countsFrom(null);

  constructor(
    private readonly c: MonitorContext,
    private readonly archive: ArchiveJob,
  ) {}

  /**
   * On wake: the cost kept with the last publish (`cost` in `meta` before). A stored cost that
   * does not parse is logged and counts as none (the count starts again from zero, as it did for
   * JSON that was not counts; text that was not JSON failed the wake before).
   */
  loadCost(): void {
    const old = (): Partial<CostCounts> | null => {
      const raw = this.c.store.get("cost");
      return raw === null ? null : parseStoredOrNull(StoredCountsSchema, "cost", raw);
    };
    this.costBase = countsFrom(this.c.detection.publishedCost() ?? old());
  }

  /** The object's cumulative billable work (persisted part plus what this instance counted). */
  costNow(): CostCounts {
    const rows = this.c.sql.collect();
    this.c.meter.add({ do_rows_written: rows.written, do_rows_read: rows.read });
    return addCounts(this.costBase, this.c.meter.counts);
  }

  /** The monotonic request counters, as published for GET /metrics. */
  requestMetrics(): RequestMetrics {
    return requestMetricsFrom(this.c.store.counters(REQUEST_COUNTER_NAMES));
  }

  /** Marks the backlogs and the request counters for the next publish. */
  markCounters(): void {
    this.c.detection.markBacklog(this.c.buffer.backlog(), this.archive.backlog());
    this.c.detection.markMetrics(this.requestMetrics());
  }

  /** Copies changed incidents and health to D1 (in rounds of 100 incidents); false when D1 failed. */
  async sync(now = Date.now()): Promise<boolean> {
    const { detection } = this.c;
    for (let round = 0; round < 20 && detection.needsSync(now); round++) {
      try {
        const cost = this.costNow();
        // The cost is persisted with the publish (a write that happens anyway), as published.
        await detection.sync(
          {
            eventsProcessed: this.c.store.counter("received"),
            backlog: this.c.buffer.backlog(),
            archiveBacklog: this.archive.backlog(),
            metrics: this.requestMetrics(),
            cost,
          },
          now,
        );
        this.syncFailures = 0;
      } catch (err) {
        this.syncFailures++;
        log("error", "detection_sync_failed", {
          endpoint: this.c.name,
          failures: this.syncFailures,
          message: errorMessage(err),
        });
        return false;
      }
    }
    return !detection.needsSync(now);
  }
}
