/**
 * One Durable Object per endpoint (service, method, route). It is the durability point of
 * ingest: a hand-off is committed to the object's SQLite in one transaction, then an alarm
 * moves the buffered records to D1 in large batches and marks them flushed only after D1
 * committed. A D1 failure leaves the records buffered and retries with backoff; an eviction
 * mid-flush loses nothing because the buffer is on disk and D1 ignores re-sent keys.
 *
 * It is also where detection runs: right after the commit, a second transaction adds the records
 * to the event-time windows and evaluates every minute the records' clock closes (see
 * DetectionRunner); a failure there is logged and never fails the hand-off. The
 * alarm copies incidents and health to D1 and, while the endpoint is live, closes minutes on the
 * wall clock so that silence is noticed.
 *
 * This class only wires the parts and delegates its RPC methods: each job is a module of its
 * own (ingest-job, flush-job, archive-job, quarantine-job, publish-job, windows-checkpoint,
 * detection-job, follow-up-job, reevaluate-job, alarm-job, reads), sharing a MonitorContext.
 * Its RPC methods are the ones the Worker calls (and the read-only stats and cost); the jobs are
 * fields, which RPC does not expose: tests run them inside the object at a clock of their own
 * (test/rpc-surface.test.ts keeps it so).
 */
import { DurableObject } from "cloudflare:workers";
import type { AlertOutbox } from "../alerts/outbox";
import type { OutboxMessage } from "../alerts/outbox-send";
import type { AlertReport } from "../alerts/queue-consumer";
import type { BreakdownView, BreakdownWindow, GroupBucket } from "../breakdown/window";
import type { Dimension } from "../breakdown/top-k";
import { CostMeter, type CostCounts } from "../cost/counts";
import { meteredD1 } from "../cost/d1";
import { meteredR2 } from "../cost/r2";
import { meteredSql } from "../cost/sql-storage";
import type { Endpoint } from "../detect/incident";
import type { LogRecord } from "../ingest/record";
import type { SourcePlan } from "../timeseries/plan";
import { runAlarm } from "./alarm-job";
import type { DetectionRunner } from "./detection-runner";
import type { IngestResult } from "./ingest-job";
import type { MonitorContext } from "./monitor-context";
import { createJobs, type MonitorJobs } from "./monitor-jobs";
import type { FlushJob } from "./flush-job";
import { createContext, migrateObject } from "./object-setup";
import type { QuarantinedRecord } from "./quarantine";
import type { ReplayResult } from "./quarantine-job";
import * as reads from "./reads";
import type { RecordBuffer } from "./record-buffer";
import type { ReevaluateResult, ReplaySource } from "./reevaluate";
import type { EndpointDetail, EndpointStats } from "./stats";
import type { SeriesPoint } from "./window-rows";

export type { EndpointStats, EndpointDetail, ReevaluateResult, QuarantinedRecord, IngestResult, ReplayResult };
export { DEDUP_WINDOW_MS } from "./buffer-watermarks";
export { ARCHIVE_EVERY_MS } from "./archive-job";
export { DEFAULT_FLUSH_DELAY_MS } from "./flush-job";
export { WINDOWS_PERSIST_MS } from "./windows-checkpoint";

export class EndpointMonitor extends DurableObject<Env> {
  /**
   * The object's billable work since it was loaded (D1 rows of its flushes and publishes, its
   * own SQLite rows, its requests), in memory; PublishJob adds what it had persisted before.
   */
  private readonly meter = new CostMeter();
  /** The D1 database records are flushed to; a field so that fault tests can wrap it. */
  logsDb: D1Database;
  /** The R2 archive every record is written through to (null: not bound); a field so that fault tests can wrap it. */
  archive: R2Bucket | null;
  readonly buffer: RecordBuffer;
  /** The flush (a field, not an RPC method: tests reach it through runInDurableObject). */
  readonly flush: FlushJob;
  readonly detection: DetectionRunner;
  /**
   * The object's jobs and its alert outbox: fields, not RPC methods (a stub cannot call them).
   * Tests reach them through runInDurableObject and pass the clock (`now`) the jobs take.
   */
  readonly jobs: MonitorJobs;
  readonly outbox: AlertOutbox;
  private readonly c: MonitorContext;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = meteredSql(ctx.storage.sql);
    this.logsDb = meteredD1(env.DB, this.meter);
    this.archive = env.ARCHIVE ? meteredR2(env.ARCHIVE, this.meter) : null;
    this.c = createContext(ctx, env, { sql, meter: this.meter, db: () => this.logsDb, archive: () => this.archive });
    this.buffer = this.c.buffer;
    this.detection = this.c.detection;
    this.outbox = this.c.outbox;
    const jobs = (this.jobs = createJobs(this.c));
    this.flush = jobs.flush;
    void ctx.blockConcurrencyWhile(async () => {
      migrateObject(this.c, jobs);
      await jobs.checkpoint.replay();
    });
  }

  /** Commits a batch of this endpoint's records (the durability point), evaluates closed minutes, and schedules the flush. */
  async ingest(records: LogRecord[]): Promise<IngestResult> {
    return this.jobs.ingest.ingest(records);
  }

  /** Flushes, publishes, alerts and closes minutes on the wall clock (see alarm-job.ts). */
  override async alarm(): Promise<void> {
    await runAlarm(this.c, this.jobs);
  }

  /** Forgets the cached maintenance windows and deploys (one was added or removed through the API). */
  async invalidateContext(): Promise<void> {
    await this.jobs.followUp.invalidateContext();
  }

  /** An incident changed outside the evaluation (a later AI summary): announce it as an update. */
  async announceUpdate(incidentId: string): Promise<void> {
    await this.jobs.followUp.announceUpdate(incidentId);
  }

  /** Claims a hand-off's alert messages for the queue consumer (src/alerts/queue-consumer.ts; see AlertOutbox.claim). */
  async claimAlerts(ids: string[], leaseUntil: number): Promise<OutboxMessage[]> {
    this.meter.add({ do_requests: 1 });
    return this.outbox.claim(ids, leaseUntil);
  }

  /** Records what the queue consumer's sends of claimed messages came to, and comes back when the outbox is next due. */
  async reportAlerts(reports: AlertReport[]): Promise<void> {
    this.meter.add({ do_requests: 1 });
    const next = await this.outbox.report(reports);
    if (next !== null) await this.jobs.alarm.schedule(Math.max(next, Date.now()));
  }

  /** The object's cumulative billable work, as it would publish it (GET /v1/stats reads the published copy). */
  async cost(): Promise<CostCounts> {
    this.meter.add({ do_requests: 1 });
    return this.jobs.publisher.costNow();
  }

  /** Quarantined rows in key order after `afterKey` (`GET /v1/control/quarantine`). */
  async quarantined(afterKey: string | null, limit: number): Promise<QuarantinedRecord[]> {
    return this.jobs.quarantine.list(afterKey, limit);
  }

  /** Tries the quarantined rows again (`POST /v1/control/quarantine/replay`). */
  async replayQuarantine(identity: Endpoint): Promise<ReplayResult> {
    return this.jobs.quarantine.replay(identity);
  }

  /** Recomputes detection from D1 (or the R2 archive) over the last `lookbackMinutes`, then publishes (see reevaluate-job.ts). */
  async reevaluate(
    lookbackMinutes: number,
    identity: Endpoint,
    source: ReplaySource = "d1",
  ): Promise<ReevaluateResult> {
    return this.jobs.reevaluation.run(lookbackMinutes, identity, source);
  }

  /** Counters, backlog and the last hour of minute buckets. */
  async stats(): Promise<EndpointStats> {
    return reads.stats(this.c);
  }

  /** Stats plus detection: health, active signals, baselines, windows as time series, recent incidents. */
  async detail(): Promise<EndpointDetail> {
    return reads.detail(this.c);
  }

  /** The top consumers and locations over the last `window` of event time (`GET /v1/endpoints/.../breakdown`). */
  async breakdown(window: BreakdownWindow): Promise<BreakdownView> {
    this.meter.add({ do_requests: 1 });
    return reads.breakdown(this.c, window);
  }

  /** The hours in [from, to) where `name` is among the top groups of `dimension` (`GET /v1/summaries?consumer=`). */
  async groupHours(dimension: Dimension, name: string, from: number, to: number): Promise<GroupBucket[]> {
    this.meter.add({ do_requests: 1 });
    return reads.groupHours(this.c, dimension, name, from, to);
  }

  /** The buckets of the first plan the windows cover (`GET /v1/timeseries`), or none: index null. */
  async series(
    plans: readonly SourcePlan[],
  ): Promise<{ watermark: number | null; index: number | null; points: SeriesPoint[] }> {
    return reads.series(this.c, plans);
  }
}
