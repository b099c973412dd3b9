/**
 * The endpoint object's re-evaluation run (see reevaluate.ts for the replay itself): what is
 * buffered is flushed first; while D1 is replayed, live records are committed but neither flushed
 * nor absorbed: they are held back and absorbed after the replay (they cannot be in D1 yet, so
 * the replay cannot count them twice). Then the windows are persisted and the results published.
 */
import type { Endpoint } from "../detect/incident";
import type { LogRecord } from "../ingest/record";
import type { AlarmSchedule } from "./alarm-schedule";
import type { ArchiveJob } from "./archive-job";
import type { DetectionJob } from "./detection-job";
import { flushDelayMs, type FlushJob } from "./flush-job";
import { endpointOf, type MonitorContext } from "./monitor-context";
import type { PublishJob } from "./publish-job";
import { reevaluateEndpoint, type ReevaluateResult, type ReplaySource } from "./reevaluate";
import type { WindowsCheckpoint } from "./windows-checkpoint";

/** The jobs a re-evaluation runs before and after the replay. */
export interface ReevaluateJobs {
  alarm: AlarmSchedule;
  archive: ArchiveJob;
  flush: FlushJob;
  live: DetectionJob;
  checkpoint: WindowsCheckpoint;
  publisher: PublishJob;
}

export class ReevaluateJob {
  /** True while a re-evaluation replays D1 (live records are then held back). */
  running = false;
  private heldBack: LogRecord[] = [];
  /** The buffer chunks of `heldBack`. */
  private heldSeqs: number[] = [];

  constructor(
    private readonly c: MonitorContext,
    private readonly jobs: ReevaluateJobs,
  ) {}

  /** Holds live records (and their buffer chunks) back until the running replay ends. */
  hold(records: readonly LogRecord[], seqs: readonly number[]): void {
    this.heldBack.push(...records);
    this.heldSeqs.push(...seqs);
  }

  /**
   * Recomputes windows, baselines, health and incidents from the endpoint's logs in D1 (or the R2
   * archive) over the last `lookbackMinutes` of event time (after flushing what is buffered), then publishes.
   */
  async run(lookbackMinutes: number, identity: Endpoint, source: ReplaySource): Promise<ReevaluateResult> {
    const { store, detection, storage } = this.c;
    const { alarm, archive, flush, live, checkpoint, publisher } = this.jobs;
    store.setIdentity(identity);
    const endpoint = endpointOf(store) ?? identity;
    if (this.running) throw new Error("a re-evaluation of this endpoint is already running");
    // Hand-offs from here on are held back (absorbed after the replay), and their chunks are not
    // flushed before it ends: the replay must not read them from D1 as well.
    this.running = true;
    this.heldBack = [];
    const upTo = this.c.buffer.next();
    // In the same step: a flush already running (the alarm's, a hand-off's) takes nothing from here on either.
    this.c.buffer.holdFrom = upTo;
    const before = detection.engineState();
    let result: ReevaluateResult;
    try {
      // What was buffered before goes to R2 (a replay from the archive reads it) and to D1 first.
      await flush.exclusive(async () => {
        if (source === "archive") await archive.writeThrough(upTo);
        await flush.flush(await flush.policyIfPending(), upTo);
        this.c.buffer.save(Date.now());
      });
      detection.invalidateConfig();
      const [cfg] = await Promise.all([detection.config(endpoint), this.c.services.get(endpoint.service)]);
      const bindings = { db: this.c.db(), archive: this.c.env.ARCHIVE };
      result = await reevaluateEndpoint(storage, bindings, source, detection, endpoint, cfg, lookbackMinutes, () =>
        checkpoint.write(),
      );
    } catch (err) {
      // Keep managing the incident that was open, so it cannot be stranded open in D1.
      storage.transactionSync(() => detection.restoreOpenIncident(before));
      throw err;
    } finally {
      this.running = false;
      this.c.buffer.holdFrom = null;
      const held = this.heldBack;
      const heldSeqs = this.heldSeqs;
      this.heldBack = [];
      this.heldSeqs = [];
      if (held.length > 0) live.absorb(held, Date.now(), endpoint, await detection.config(endpoint));
      for (const seq of heldSeqs) checkpoint.unabsorbed.delete(seq);
      checkpoint.persist(Date.now(), true);
    }
    await publisher.sync();
    await alarm.schedule(Date.now() + flushDelayMs(this.c.env));
    return result;
  }
}
