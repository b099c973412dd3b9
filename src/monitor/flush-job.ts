/**
 * The endpoint object's flush: buffered records go to D1 in batches and are marked flushed only
 * after D1 committed. A D1 failure leaves them buffered and retries with backoff; D1 at its cap
 * takes no raw row and the summaries of those hours are written from the windows instead.
 */
import { currentD1Size } from "../cost/d1-size";
import { ROW_TIMESTAMP } from "../db/log-writer";
import { log } from "../lib/log";
import { serviceDirectory } from "../services/store";
import { ALL_RECORDS, samplingPolicy } from "../storage/policy";
import type { SamplingPolicy } from "../storage/sampling";
import type { AlarmSchedule } from "./alarm-schedule";
import { FLUSH_BUDGET_MS, type ArchiveJob } from "./archive-job";
import { hourSummaryRow, writeHourSummaries } from "./capped-summaries";
import { flushBatch } from "./flush";
import { flushCut, nextMinuteFlushAt, waitsForMinute } from "./flush-cadence";
import { HOUR_MS, flushBackoffMs } from "./minute-counts";
import { errorMessage } from "../lib/errors";
import { endpointOf, type MonitorContext } from "./monitor-context";
import type { QuarantineJob } from "./quarantine-job";
import { RecordBuffer } from "./record-buffer";
import { DEFAULT_FLUSH_DELAY_MS, config, type ConfigEnv } from "../config";

export class FlushJob {
  /**
   * Whether the last alarm found this endpoint flushing once a minute (see flush-cadence.ts): a
   * hand-off then asks for the alarm at the next minute's flush, not after FLUSH_DELAY_MS.
   */
  waitingForMinute = false;
  /** Flushes run one at a time (the alarm's, a hand-off's, a re-evaluation's): each reads the marks the last one left. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Whether a hand-off's flush is running or queued, and whether another hand-off came meanwhile. */
  private inlineRunning = false;
  private inlineAgain = false;
  /** Hand-offs flush at once only with a FLUSH_DELAY_MS up to this (tests that run alarms themselves raise it in place). */
  atOnceMaxDelayMs = FLUSH_AT_ONCE_MAX_DELAY_MS;

  constructor(
    private readonly c: MonitorContext,
    private readonly alarm: AlarmSchedule,
    private readonly archive: ArchiveJob,
    private readonly quarantine: QuarantineJob,
  ) {}

  /** Which records of a flush get a raw row in D1: the service's `raw_logs`, the endpoint's latency objective, D1's size. */
  private async samplingPolicy(): Promise<SamplingPolicy | null> {
    const endpoint = endpointOf(this.c.store);
    if (!endpoint) return ALL_RECORDS;
    const { env, detection } = this.c;
    const [directory, size, cfg] = await Promise.all([
      serviceDirectory(env).catch(() => null),
      currentD1Size(this.c.db(), this.c.meter, env.D1_MAX_BYTES),
      detection.config(endpoint),
    ]);
    return samplingPolicy(
      directory?.byName.get(endpoint.service)?.raw_logs,
      detection.latencyObjectiveMs(cfg),
      size.state,
    );
  }

  /** The policy of a flush of what is buffered (every record when nothing is: no D1 read). */
  async policyIfPending(): Promise<SamplingPolicy | null> {
    const pending = this.c.buffer.backlog() > 0 || (this.c.archive() !== null && this.c.buffer.archiveBacklog() > 0);
    return pending ? this.samplingPolicy() : ALL_RECORDS;
  }

  /**
   * The alarm's flush at wall clock `now`: an endpoint that samples (flush-cadence.ts) writes
   * through to R2 and flushes to D1 only the chunks added before the last minute boundary plus
   * grace, others everything. `resumeAt`: when to come back for what stays buffered (the next
   * minute's flush when it waits on purpose, now when the budget ran out); `ok` false when D1
   * failed (a retry is scheduled).
   */
  flushDue(now = Date.now()): Promise<{ ok: boolean; resumeAt: number }> {
    return this.exclusive(() => this.flushDueNow(now));
  }

  /** Runs `fn` after every flush queued before it. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Whether a hand-off at `now` may flush at once instead of asking for an alarm (each setAlarm is
   * a row written): with the short production delay (a long FLUSH_DELAY_MS asks for batching),
   * not while D1 backs off or the endpoint flushes once a minute, and only when an alarm is
   * pending soon anyway: it takes whatever the hand-off's flush leaves (a failure, an eviction).
   */
  async canFlushAtOnce(now: number, backingOff: boolean): Promise<boolean> {
    if (backingOff || this.waitingForMinute || flushDelayMs(this.c.env) > this.atOnceMaxDelayMs) return false;
    const pending = await this.alarm.pendingAt();
    return pending !== null && pending <= now + FLUSH_AT_ONCE_ALARM_WITHIN_MS;
  }

  /**
   * A hand-off's flush: D1 takes the chunks buffered when it starts (one flush at a time). A
   * hand-off during it asks for another round, queued behind whatever waits meanwhile (the
   * alarm's flush: a busy endpoint's rounds never hold it off). Only when the policy does not wait
   * for the minute (`all`, `auto`); anything left (the budget, a failure: it sets its own retry)
   * goes to the alarm.
   */
  async flushAtOnce(paused: () => boolean = () => false): Promise<void> {
    if (this.inlineRunning) {
      this.inlineAgain = true;
      return;
    }
    this.inlineRunning = true;
    this.inlineAgain = false;
    const again = await this.exclusive(async () => {
      const policy = await this.policyIfPending();
      const wait = waitsForMinute(policy);
      // Paused (a re-evaluation started meanwhile): its end asks for the alarm.
      const result = paused() ? "paused" : wait ? "more" : await this.flush(policy, this.c.buffer.next());
      this.c.buffer.saveRequired(Date.now());
      // Checked and cleared in one step: a hand-off after this starts a round of its own.
      this.inlineRunning = false;
      if (result === "paused") return false;
      this.waitingForMinute = wait;
      if (result === "more") await this.alarm.schedule(wait ? nextMinuteFlushAt(Date.now()) : Date.now());
      return result === "done" && this.inlineAgain;
    }).catch((err: unknown) => {
      this.inlineRunning = false;
      log("error", "flush_at_once_failed", { endpoint: this.c.name, message: errorMessage(err) });
      return false;
    });
    // A round of its own (not awaited here: a busy endpoint's rounds must not chain without end).
    if (again) this.c.waitUntil(this.flushAtOnce(paused));
  }

  private async flushDueNow(now: number): Promise<{ ok: boolean; resumeAt: number }> {
    const { buffer } = this.c;
    const policy = await this.policyIfPending();
    const cut = flushCut(now);
    const wait = waitsForMinute(policy);
    this.waitingForMinute = wait;
    // What is buffered now (before the minute's cut when it waits): hand-offs during this flush
    // are the next round's (at once, or the alarm coming back for the backlog), so a busy endpoint
    // does not keep one flush going.
    const before = wait ? (buffer.firstSeqAddedFrom(cut) ?? buffer.next()) : buffer.next();
    const archiveDue = this.archive.dueAt(now);
    const archived = archiveDue <= now ? await this.archive.writeThrough(before) : false;
    const flushed = await this.flush(policy, before);
    // One row for the marks of both, whatever the number of batches and passes; none when losing
    // them only sends again what D1 and R2 took (they wait for the windows' persist, see record-buffer.ts).
    buffer.saveRequired(Date.now());
    await this.writeCappedSummaries();
    if (flushed === "failed") return { ok: false, resumeAt: now };
    if (wait && archived && flushed === "done") return { ok: true, resumeAt: nextMinuteFlushAt(now) };
    return {
      ok: true,
      resumeAt: flushed === "done" && !archived ? Math.max(Date.now(), this.archive.dueAt(now)) : Date.now(),
    };
  }

  /**
   * Writes the summary rows of the hours flushed at the D1 cap from the hour windows (see
   * capped-summaries.ts); a failure keeps them for the next flush.
   */
  private async writeCappedSummaries(): Promise<void> {
    const endpoint = endpointOf(this.c.store);
    // Kept with the buffer's marks (an eviction does not forget them); retried by the next alarm.
    const hours = this.c.buffer.cappedHours();
    if (hours.length === 0 || !endpoint) return;
    try {
      const cfg = await this.c.detection.config(endpoint);
      const now = Date.now();
      const rows = hours.flatMap((start) => {
        const w = this.c.windows.hour(start);
        return w && w.count > 0 ? [hourSummaryRow(endpoint, w, cfg, now)] : [];
      });
      await writeHourSummaries(this.c.db(), rows);
      this.c.buffer.clearCappedHours(hours, now);
      this.c.buffer.saveRequired(Date.now());
    } catch (err) {
      log("error", "capped_summaries_failed", {
        endpoint: this.c.name,
        hours: hours.length,
        message: errorMessage(err),
      });
    }
  }

  /**
   * Flushes the chunks before `beforeSeq` (all by default) until they are in D1 ("done") or the
   * budget is spent ("more"); "failed" when D1 failed (a retry is scheduled).
   */
  async flush(policy: SamplingPolicy | null, beforeSeq?: number): Promise<"done" | "more" | "failed"> {
    const { buffer, store } = this.c;
    const started = Date.now();
    while (Date.now() - started < FLUSH_BUDGET_MS) {
      const batch = buffer.nextBatch(beforeSeq);
      if (batch.keys.length === 0) {
        // Only chunks without stored rows (sampled out, duplicates): nothing to send, move past them.
        buffer.markFlushed(batch.end, [], Date.now());
        return "done";
      }
      const failuresSoFar = Number(store.get("consecutive_flush_failures") ?? 0);
      const outcome = await flushBatch(this.c.db(), batch, Date.now(), failuresSoFar, policy);
      // D1 at its cap took no raw row: the summaries of these hours come from the windows; so do
      // those of hours the object wrote before that now get raw rows (after the cap lifted).
      const hours = () => [
        ...new Set(
          batch.bodies.map(
            (body) => Math.floor(Number((JSON.parse(body) as unknown[])[ROW_TIMESTAMP]) / HOUR_MS) * HOUR_MS,
          ),
        ),
      ];
      if (policy === null) this.c.buffer.addCappedHours(hours());
      else if (this.c.buffer.hasCappedWritten()) this.c.buffer.addCappedHours(this.c.buffer.cappedWritten(hours()));
      if (outcome.kind === "failed") {
        const failures = failuresSoFar + 1;
        const retryIn = flushBackoffMs(failures);
        const flushedAt = Date.now();
        // Rows committed one by one before D1 filled up are in D1: the watermark moves past the
        // leading ones (later ones are sent again, and D1 ignores a re-sent key).
        const written = new Set(outcome.written);
        let prefix = 0;
        while (prefix < batch.keys.length && written.has(batch.keys[prefix] ?? "")) prefix++;
        this.c.storage.transactionSync(() => {
          if (prefix > 0) buffer.markFlushed(RecordBuffer.positionAfter(batch, prefix), [], flushedAt, prefix);
          buffer.save(flushedAt);
          store.set("consecutive_flush_failures", String(failures));
          store.addCounters({ flush_failures: 1 });
          if (outcome.full && store.get("storage_full_since") === null)
            store.set("storage_full_since", String(flushedAt));
        });
        log("error", outcome.full ? "d1_full" : "d1_flush_failed", {
          endpoint: this.c.name,
          records: batch.keys.length - prefix,
          consecutive_failures: failures,
          retry_in_ms: retryIn,
          message: errorMessage(outcome.error),
        });
        await this.alarm.setAt(Date.now() + retryIn);
        return "failed";
      }
      const poisoned = outcome.kind === "isolated" ? outcome.poisoned : [];
      const flushed = batch.keys.length - poisoned.length;
      const flushedAt = Date.now();
      this.c.storage.transactionSync(() => {
        // The mark, the count and the time travel in one row, saved once per flush (see record-buffer.ts).
        buffer.markFlushed(batch.end, poisoned, flushedAt, flushed, outcome.kind === "written" && outcome.complete);
        // A sampled batch's mark is saved with it: sent again after an eviction, it would be sampled anew.
        buffer.saveRequired(flushedAt);
        store.addCounters({ quarantined: poisoned.length });
        if (failuresSoFar !== 0) store.set("consecutive_flush_failures", "0");
        if (store.get("storage_full_since") !== null) store.delete("storage_full_since");
        if (poisoned.length > 0) this.quarantine.markChanged();
      });
      for (const p of poisoned) {
        log("error", "d1_record_quarantined", { endpoint: this.c.name, record_key: p.key, message: p.error });
      }
    }
    return "more";
  }
}

export { DEFAULT_FLUSH_DELAY_MS };
/** Hand-offs flush at once only with a FLUSH_DELAY_MS this short or shorter (tests set a long one and run alarms themselves). */
export const FLUSH_AT_ONCE_MAX_DELAY_MS = 1000;
/** ...and only when the pending alarm comes within this (the minute's alarm of a live endpoint). */
export const FLUSH_AT_ONCE_ALARM_WITHIN_MS = 65_000;

/** The delay between the first buffered record and the flush (FLUSH_DELAY_MS). */
export function flushDelayMs(env: ConfigEnv): number {
  return config(env).FLUSH_DELAY_MS;
}
