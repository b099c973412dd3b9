/**
 * The endpoint object's jobs, each a module of its own, wired once over the shared context
 * (see monitor-context.ts): who calls whom is visible here and nowhere else.
 */
import { AlarmSchedule } from "./alarm-schedule";
import { ArchiveJob } from "./archive-job";
import { DetectionJob } from "./detection-job";
import { DueWork } from "./due-work";
import { FlushJob } from "./flush-job";
import { FollowUpJob } from "./follow-up-job";
import { IngestJob } from "./ingest-job";
import type { MonitorContext } from "./monitor-context";
import { PublishJob } from "./publish-job";
import { QuarantineJob } from "./quarantine-job";
import { ReevaluateJob } from "./reevaluate-job";
import { WindowsCheckpoint } from "./windows-checkpoint";

export interface MonitorJobs {
  alarm: AlarmSchedule;
  archive: ArchiveJob;
  flush: FlushJob;
  quarantine: QuarantineJob;
  publisher: PublishJob;
  checkpoint: WindowsCheckpoint;
  live: DetectionJob;
  followUp: FollowUpJob;
  reevaluation: ReevaluateJob;
  ingest: IngestJob;
  /** When each job is next due (in memory, rebuilt by each alarm: see due-work.ts). */
  due: DueWork;
}

/** Builds the endpoint object's jobs over its context. */
export function createJobs(c: MonitorContext): MonitorJobs {
  const alarm = new AlarmSchedule(c.storage, c.meter);
  const archive = new ArchiveJob(c, alarm);
  const quarantine = new QuarantineJob(c, alarm);
  const flush = new FlushJob(c, alarm, archive, quarantine);
  const publisher = new PublishJob(c, archive);
  const checkpoint = new WindowsCheckpoint(c);
  const live = new DetectionJob(c);
  const followUp = new FollowUpJob(c, alarm);
  const reevaluation = new ReevaluateJob(c, { alarm, archive, flush, live, checkpoint, publisher });
  const ingest = new IngestJob(c, { alarm, flush, live, followUp, reevaluation, checkpoint });
  return {
    alarm,
    archive,
    flush,
    quarantine,
    publisher,
    checkpoint,
    live,
    followUp,
    reevaluation,
    ingest,
    due: new DueWork(),
  };
}
