/**
 * The endpoint object's alarm, in order: flush (a D1 failure schedules its own retry and ends
 * the alarm), publish the quarantine's size, close silent minutes, follow the open incident up,
 * publish detection results, persist the windows, prune the buffer, send alerts (after the
 * incidents are in D1: messages carry the row as the API shows it), then records when each job is
 * next due in the due-work table (due-work.ts, in memory) and sets one alarm for its earliest
 * entry (each setAlarm is a row written).
 */
import { log } from "../lib/log";
import { errorMessage } from "../lib/errors";
import { runAlerts } from "./alerts-handoff";
import { MINUTE_MS, flushBackoffMs } from "./minute-counts";
import { endpointOf, type MonitorContext } from "./monitor-context";
import type { MonitorJobs } from "./monitor-jobs";

/** The jobs an alarm runs. */
export type AlarmJobs = Pick<
  MonitorJobs,
  | "alarm"
  | "archive"
  | "flush"
  | "quarantine"
  | "live"
  | "followUp"
  | "publisher"
  | "checkpoint"
  | "reevaluation"
  | "due"
>;

/** Runs one alarm of the endpoint object (see the module's comment). */
export async function runAlarm(c: MonitorContext, jobs: AlarmJobs): Promise<void> {
  const { alarm, archive, flush, quarantine, live, followUp, publisher, checkpoint, reevaluation, due } = jobs;
  alarm.fired();
  c.meter.add({ do_requests: 1 });
  if (reevaluation.running) {
    await alarm.schedule(Date.now() + 1000);
    return;
  }
  const flushed = await flush.flushDue();
  // While D1 fails the windows are still persisted (they need no D1): the replay on wake stays short.
  if (!flushed.ok) return checkpoint.persist(Date.now());
  await quarantine.publish();
  const now = Date.now();
  publisher.markCounters();
  const endpoint = endpointOf(c.store);
  if (!reevaluation.running) await live.closeSilentMinutes(now);
  const followAt = await followUp.followUp(now).catch((err: unknown) => {
    log("error", "follow_up_failed", { endpoint: c.name, message: errorMessage(err) });
    return null;
  });
  const synced = await publisher.sync();
  checkpoint.persist(now);
  checkpoint.pruneBuffer(now);
  // Alerts go out after the incidents are in D1 (messages carry the row as the API shows it).
  const alertsAt = synced ? await runAlerts(c, Date.now()).catch((err: unknown) => alertsFailed(c, err)) : null;
  // Every reason to come back in the due-work table, and one alarm for its earliest entry (each setAlarm is a row written).
  const at = Date.now();
  due.clear();
  due.set("outbox", alertsAt);
  due.set("follow-up", followAt);
  // Counters waiting for their publish, and windows changed since the last persist.
  due.set("publish", c.detection.countsDueAt());
  due.set("checkpoint", checkpoint.dueAt());
  // Summary rows of hours flushed at the D1 cap that failed to be written: tried again.
  if (c.buffer.cappedHours().length > 0) due.set("capped-summaries", at + 30_000);
  // What waits on purpose (the minute's flush, the R2 pass's minute) comes back then, not at once (no alarm loop).
  if (c.archive() && c.buffer.archiveBacklog() > 0)
    due.set("archive", Math.max(archive.retryAt, archive.dueAt(at), flushed.resumeAt));
  if (c.buffer.backlog() > 0) due.set("flush", flushed.resumeAt);
  else if (!synced) due.set("publish", at + flushBackoffMs(publisher.syncFailures));
  // Live: come back at the next minute boundary to close minutes on the wall clock.
  else if (endpoint && c.detection.isLive(now)) due.set("silence", Math.floor(now / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
  const next = due.earliest(at);
  if (next !== null) await alarm.schedule(next);
}

function alertsFailed(c: MonitorContext, err: unknown): number {
  log("error", "alerts_failed", { endpoint: c.name, message: errorMessage(err) });
  return Date.now() + 30_000;
}
