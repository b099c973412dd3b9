/**
 * What the endpoint object adds to its incidents beyond the state machine, as pure functions: an
 * incident that opens inside a maintenance window is marked and its alerts are held; one that
 * opens shortly after a deploy names it; a held incident still open when no window covers it any
 * more is released (alerted then). The object calls these; the machine never sees them.
 */
import { deployBefore } from "../deploys/deploys";
import { explain } from "../detect/explain";
import type { Incident } from "../detect/incident";
import { coveringWindow, type MaintenanceWindow } from "../maintenance/windows";
import type { ContextValue } from "./service-context";

/** Marks an incident that just opened: inside a maintenance window, and after a recent deploy. */
export function annotateOpened(incident: Incident, ctx: ContextValue, deployWithinMs: number): Incident {
  const window = coveringWindow(ctx.windows, incident, incident.opened_at, incident.last_event_at);
  const deploy = deployBefore(ctx.deploys, incident.service, incident.opened_at, deployWithinMs);
  if (!window && !deploy) return incident;
  const next: Incident = {
    ...incident,
    in_maintenance: window !== null,
    maintenance_id: window?.id ?? null,
    maintenance_released_at: null,
    deploy: deploy ? { id: deploy.id, version: deploy.version, at: deploy.at, description: deploy.description } : null,
  };
  next.explanation = explain(next);
  return next;
}

/** Whether the incident's alerts are held: it opened inside a window that has not ended yet. */
export function alertsHeld(i: Pick<Incident, "in_maintenance" | "maintenance_released_at">): boolean {
  return i.in_maintenance === true && (i.maintenance_released_at ?? null) === null;
}

/** The open incident, released at `now`, when its alerts are held and no window of its endpoint covers `now`; else null. */
export function releaseHeld(
  open: Incident | null,
  windows: readonly MaintenanceWindow[],
  now: number,
): Incident | null {
  if (!open || open.status !== "open" || !alertsHeld(open)) return null;
  if (coveringWindow(windows, open, now)) return null;
  return { ...open, maintenance_released_at: now };
}
