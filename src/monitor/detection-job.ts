/**
 * The endpoint object's live detection: records absorbed into the windows right after their
 * commit (a failure is logged and never fails the hand-off), minutes closed on the wall clock
 * while the endpoint is live so that silence is noticed, and incidents that opened joining their
 * service's group.
 */
import type { DetectionConfig } from "../detect/config";
import type { Evaluation } from "../detect/evaluate";
import type { Endpoint } from "../detect/incident";
import { log } from "../lib/log";
import type { LogRecord } from "../ingest/record";
import { ALARM_GRACE_MS } from "./event-clock";
import { alertsHeld } from "./follow-up";
import { joinOpened } from "./group-link";
import { errorMessage } from "../lib/errors";
import { endpointOf, type MonitorContext } from "./monitor-context";

export class DetectionJob {
  constructor(private readonly c: MonitorContext) {}

  /** Adds records to the windows and evaluates the minutes they close, in one transaction; [] when that failed (logged). */
  absorb(records: readonly LogRecord[], now: number, endpoint: Endpoint, cfg: DetectionConfig): Evaluation[] {
    try {
      const { late, evaluations } = this.c.storage.transactionSync(() => {
        const out = this.c.detection.absorb(records, now, endpoint, cfg);
        this.c.store.addCounters({ late: out.late });
        return out;
      });
      this.logChanges(endpoint, evaluations);
      if (late > 0) log("info", "late_records", { endpoint: this.c.name, late });
      return evaluations;
    } catch (err) {
      log("error", "detection_failed", { endpoint: this.c.name, message: errorMessage(err) });
      return [];
    }
  }

  /** Incidents that opened (not held by maintenance) join their service's group. */
  async joinGroups(evaluations: readonly Evaluation[]): Promise<void> {
    const opened = evaluations.flatMap((ev) =>
      ev.change === "opened" && ev.incident && !alertsHeld(ev.incident) ? [ev.incident] : [],
    );
    if (opened.length > 0) await joinOpened(this.c.env, opened, Date.now());
  }

  /**
   * Closes minutes on the wall clock `now` when the endpoint is live but its records stopped, so
   * that silence is evaluated.
   */
  async closeSilentMinutes(now: number): Promise<void> {
    const endpoint = endpointOf(this.c.store);
    if (!endpoint || !this.c.detection.isLive(now)) return;
    const [cfg] = await Promise.all([
      this.c.detection.config(endpoint, now),
      this.c.services.get(endpoint.service, now),
    ]);
    try {
      await this.joinGroups(this.evaluate(endpoint, cfg, now, ALARM_GRACE_MS));
    } catch (err) {
      log("error", "detection_failed", { endpoint: this.c.name, message: errorMessage(err) });
    }
  }

  private evaluate(endpoint: Endpoint, cfg: DetectionConfig, until: number, grace: number): Evaluation[] {
    const evaluations = this.c.storage.transactionSync(() => {
      const out = this.c.detection.evaluateUntil(until, grace, endpoint, cfg);
      if (out.length > 0) this.c.windows.prune(this.c.detection.watermark() ?? until);
      return out;
    });
    this.logChanges(endpoint, evaluations);
    return evaluations;
  }

  private logChanges(endpoint: Endpoint, evaluations: readonly Evaluation[]): void {
    for (const ev of evaluations) {
      if (ev.change && ev.change !== "updated" && ev.incident) {
        log("info", `incident_${ev.change}`, {
          id: ev.incident.id,
          service: endpoint.service,
          method: endpoint.method,
          route: endpoint.route,
          severity: ev.incident.severity,
          event_time: ev.minute,
        });
      }
    }
  }
}
