/**
 * The endpoint object's follow-up of its open incident (see follow-up.ts for the pure rules):
 * alerts held by a maintenance window go out when it no longer covers the incident, reminders
 * of an open CRITICAL are recorded when due, and a new record `version` is noted as a deploy.
 */
import { nextReminderAt } from "../alerts/reminders";
import { config, type ConfigEnv } from "../config";
import { deployId, versionChange, type Deploy } from "../deploys/deploys";
import { saveDeploy } from "../deploys/store";
import type { Endpoint } from "../detect/incident";
import { log } from "../lib/log";
import type { LogRecord } from "../ingest/record";
import { coveringWindow } from "../maintenance/windows";
import type { AlarmSchedule } from "./alarm-schedule";
import { alertsHeld, releaseHeld } from "./follow-up";
import { MINUTE_MS } from "./minute-counts";
import { errorMessage } from "../lib/errors";
import { endpointOf, type MonitorContext } from "./monitor-context";
import { LastVersionSchema, parseStored } from "./stored-json";

/** How long after a deploy an incident that opens names it (DEPLOY_CORRELATION_MINUTES). */
export function deployWithinMs(env: ConfigEnv): number {
  return config(env).DEPLOY_CORRELATION_MINUTES * MINUTE_MS;
}

export class FollowUpJob {
  constructor(
    private readonly c: MonitorContext,
    private readonly alarm: AlarmSchedule,
  ) {}

  /**
   * At wall clock `now`: alerts an incident whose alerts were held by a maintenance window that
   * no longer covers it, and records the reminder of an open CRITICAL when one is due. Returns
   * when to come back (null: nothing to follow).
   */
  async followUp(now: number): Promise<number | null> {
    const { detection, outbox } = this.c;
    const endpoint = endpointOf(this.c.store);
    const before = detection.engineState().machine.open;
    if (!endpoint || !before) return null;
    // The windows are read (D1 at most every 30 s) only while an incident's alerts are held.
    const { windows } = alertsHeld(before) ? await this.c.services.get(endpoint.service, now) : { windows: [] };
    const minutes = config(this.c.env).ALERT_REMINDER_MINUTES;
    return this.c.storage.transactionSync(() => {
      const open = detection.engineState().machine.open;
      const released = releaseHeld(open, windows, now);
      if (released) {
        detection.replaceOpen(released);
        outbox.enqueue(
          {
            incident_id: released.id,
            event: "incident.opened",
            severity: released.severity,
            service: released.service,
          },
          now,
        );
        log("info", "incident_maintenance_released", {
          id: released.id,
          service: released.service,
          maintenance_id: released.maintenance_id ?? null,
        });
      }
      const current = released ?? open;
      if (!current) return null;
      // Held: look again when the window ends (a deletion or a new window notifies the object).
      if (alertsHeld(current)) return coveringWindow(windows, current, now)?.ends_at ?? now + MINUTE_MS;
      const due = nextReminderAt(current, outbox.lastAlertAt(current.id), minutes);
      if (due === null) return null;
      if (due > now) return due;
      outbox.enqueue(
        { incident_id: current.id, event: "incident.reminder", severity: current.severity, service: current.service },
        now,
      );
      return now + minutes * MINUTE_MS;
    });
  }

  /**
   * Forgets the cached maintenance windows and deploys (one was added or removed through the
   * API); an incident whose alerts a window holds is looked at again by an alarm a second later.
   */
  async invalidateContext(): Promise<void> {
    this.c.services.invalidate();
    const open = this.c.detection.engineState().machine.open;
    if (open && alertsHeld(open)) await this.alarm.schedule(Date.now() + 1000);
  }

  /** An incident changed outside the evaluation (a later AI summary): announce it as an update. */
  async announceUpdate(incidentId: string): Promise<void> {
    const incident = this.c.detection.incidents(50).find((i) => i.id === incidentId);
    if (!incident) return;
    this.c.outbox.enqueue(
      { incident_id: incident.id, event: "incident.updated", severity: incident.severity, service: incident.service },
      Date.now(),
    );
    await this.alarm.schedule(Date.now());
  }

  /**
   * A new `version` on the records is a deploy of the service (the first version this endpoint
   * sees is not: it only starts the history). Known here at once, stored in D1 in the background;
   * a failure there loses the marker only, never records.
   */
  noteVersion(records: readonly LogRecord[], endpoint: Endpoint): void {
    const { store } = this.c;
    const raw = store.get("last_version");
    const last = raw === null ? null : parseStored(LastVersionSchema, "last_version", raw);
    const change = versionChange(records, last);
    if (!change) return;
    store.set(
      "last_version",
      JSON.stringify({
        version: change.version,
        at: Math.max(...records.filter((r) => r.version === change.version).map((r) => r.timestamp)),
      }),
    );
    if (last === null) return;
    const deploy: Deploy = {
      id: deployId(endpoint.service, change.version),
      service: endpoint.service,
      version: change.version,
      at: change.at,
      description: null,
      source: "records",
    };
    this.c.services.note(deploy);
    log("info", "deploy_seen", {
      service: endpoint.service,
      version: change.version,
      at: change.at,
      previous: last.version,
    });
    this.c.waitUntil(
      saveDeploy(this.c.db(), deploy, Date.now()).catch((err: unknown) =>
        log("error", "deploy_save_failed", {
          service: endpoint.service,
          version: change.version,
          message: errorMessage(err),
        }),
      ),
    );
  }
}
