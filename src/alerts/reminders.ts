/**
 * Reminders while a CRITICAL incident stays open: one more alert every ALERT_REMINDER_MINUTES
 * (default 240; 0 turns them off) after the incident's last alert (opened, escalated or an
 * earlier reminder). Pure; the endpoint object asks on every alarm (src/monitor/endpoint-monitor.ts).
 */
import { DEFAULT_ALERT_REMINDER_MINUTES, parseSetting } from "../config";

export { DEFAULT_ALERT_REMINDER_MINUTES };

/** The reminder interval from the `ALERT_REMINDER_MINUTES` setting (minutes; 0: off; unset or invalid: the default). */
export function reminderMinutes(setting: string | undefined): number {
  return parseSetting("ALERT_REMINDER_MINUTES", setting);
}

/** When the next reminder of an incident is due, or null (none: not an open CRITICAL, never alerted, or reminders off). */
export function nextReminderAt(
  i: { status: string; severity: string },
  lastAlertAt: number | null,
  minutes: number,
): number | null {
  if (minutes <= 0 || lastAlertAt === null || i.status !== "open" || i.severity !== "CRITICAL") return null;
  return lastAlertAt + minutes * 60_000;
}
