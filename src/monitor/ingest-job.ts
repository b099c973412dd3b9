/**
 * The endpoint object's hand-off: a batch of records committed to the buffer in one transaction
 * (the durability point of ingest), the flush scheduled, then the records absorbed by detection
 * in a transaction of their own, whose failure never fails the hand-off.
 */
import type { LogRecord } from "../ingest/record";
import { requestIncrements } from "../metrics/request-counters";
import type { AlarmSchedule } from "./alarm-schedule";
import type { DetectionJob } from "./detection-job";
import { nextMinuteFlushAt } from "./flush-cadence";
import { flushDelayMs, type FlushJob } from "./flush-job";
import type { FollowUpJob } from "./follow-up-job";
import { endpointOf, type MonitorContext } from "./monitor-context";
import { storageReport } from "./reads";
import type { Counts } from "./chunk-codec";
import type { ReevaluateJob } from "./reevaluate-job";
import type { WindowsCheckpoint } from "./windows-checkpoint";

export interface IngestResult {
  stored: number;
  duplicates: number;
  /**
   * "full": this object's last flush found D1 refusing writes for capacity (the records wait here);
   * "ok": D1 took this object's flush within the last minute; absent: this object does not know.
   */
  storage?: "ok" | "full";
}

/** The jobs a hand-off hands on to. */
export interface IngestJobs {
  alarm: AlarmSchedule;
  flush: FlushJob;
  live: DetectionJob;
  followUp: FollowUpJob;
  reevaluation: ReevaluateJob;
  checkpoint: WindowsCheckpoint;
}

export class IngestJob {
  /** Whether (service, method, route) is in `meta` already; saves a write per hand-off. */
  private identityStored = false;

  constructor(
    private readonly c: MonitorContext,
    private readonly jobs: IngestJobs,
  ) {}

  /** Commits a batch of this endpoint's records (the durability point), evaluates closed minutes, and schedules the flush. */
  async ingest(records: LogRecord[]): Promise<IngestResult> {
    const { buffer, store } = this.c;
    const { alarm, flush, live, followUp, reevaluation, checkpoint } = this.jobs;
    const now = Date.now();
    this.c.meter.add({ do_requests: 1 });
    const fresh = buffer.fresh(records);
    const newest = fresh.reduce((max, r) => Math.max(max, r.timestamp), 0);
    // The request counters of GET /metrics: counted here, in the hand-off's chunk, so exactly once.
    const counts: Counts = {
      received: fresh.length,
      duplicates: records.length - fresh.length,
      handoffs: 1,
      ...requestIncrements(fresh),
    };
    if (newest > 0) counts.last_event_at = newest;
    for (const [name, n] of Object.entries(counts)) if (n === 0) delete counts[name];
    let seqs: number[] = [];
    const result: IngestResult = this.c.storage.transactionSync(() => {
      // The one row this hand-off writes (the identity once per endpoint object).
      seqs = buffer.append(fresh, counts, now);
      const first = fresh[0];
      if (first && !this.identityStored) store.setIdentity(first);
      return { stored: fresh.length, duplicates: records.length - fresh.length, storage: storageReport(this.c, now) };
    });
    // Committed: from here a retry of this hand-off is a duplicate.
    buffer.remember(fresh);
    if (fresh.length > 0) for (const seq of seqs) checkpoint.unabsorbed.add(seq);
    store.addPending(counts);
    if (result.stored > 0) this.identityStored = true;
    // Also for a hand-off of duplicates only: its first try may have committed and then lost
    // the alarm (the object reset between the two). While D1 is failing the backoff alarm is
    // left where it is: hand-offs must not turn the backoff into a retry per hand-off.
    const backingOff = Number(store.get("consecutive_flush_failures") ?? 0) > 0;
    if (records.length > 0) {
      // The alarm pending soon anyway takes what a flush at once leaves: no alarm row for the hand-off.
      // Not while a re-evaluation runs: the records it holds back must not reach D1 before its replay ends.
      const paused = () => reevaluation.running;
      if (fresh.length > 0 && !paused() && (await flush.canFlushAtOnce(now, backingOff)))
        this.c.waitUntil(flush.flushAtOnce(paused));
      else
        await alarm.schedule(
          flush.waitingForMinute ? nextMinuteFlushAt(now) : now + flushDelayMs(this.c.env),
          backingOff,
        );
    }
    // The records are safe from here; detection runs in its own transaction (with the settings
    // as cached: never a D1 wait before the commit), and a failure of it never fails the hand-off.
    const endpoint = endpointOf(store, records[0]);
    if (endpoint && fresh.length > 0) {
      if (reevaluation.running) {
        reevaluation.hold(fresh, seqs);
      } else {
        const [cfg] = await Promise.all([
          this.c.detection.config(endpoint, now),
          this.c.services.get(endpoint.service, now),
        ]);
        followUp.noteVersion(fresh, endpoint);
        // The group hears of an opening in the background: the hand-off does not wait for it (the
        // alert's own route asks the group again before it goes out).
        const evaluations = live.absorb(fresh, now, endpoint, cfg);
        this.c.waitUntil(live.joinGroups(evaluations));
        // An incident that opened, escalated, resolved or reopened is published and alerted by the
        // alarm: now, not at the pending one (a flush at once sets none; one row, for a rare event).
        if (evaluations.some((e) => e.change !== null && e.change !== "updated")) await alarm.schedule(Date.now());
        for (const seq of seqs) checkpoint.unabsorbed.delete(seq);
      }
    } else for (const seq of seqs) checkpoint.unabsorbed.delete(seq);
    return result;
  }
}
