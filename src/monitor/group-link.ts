/**
 * The endpoint object's side of incident groups (src/incidents/grouping.ts): it tells its
 * group object (its service's origin host's, or its service's when it has no origin) about an
 * incident that opened, and asks it about each of its own alerts before fanning one out. Both
 * calls are bounded; when the group object cannot answer (or the service directory cannot say
 * which origin the service has), the endpoint alerts on its own (an alert is never lost to grouping).
 */
import type { EventRoute } from "../alerts/outbox";
import type { AlertEvent } from "../alerts/payloads";
import { ANNOUNCE_WITHIN_MS } from "../alerts/outbox";
import type { Incident } from "../detect/incident";
import { log } from "../lib/log";
import { withTimeout } from "../lib/timeout";
import { fromWire, groupKey, groupSettings, originHost, type MemberInput } from "../incidents/grouping";
import { serviceDirectory } from "../services/store";

const CALL_BUDGET_MS = 3_000;

/** What the group object needs to know of an incident; `origin` is the host its service is proxied to (null: none). */
export function memberOf(i: Incident, origin: string | null = null): MemberInput {
  return {
    origin,
    incident_id: i.id,
    service: i.service,
    method: i.method,
    route: i.route,
    severity: i.severity,
    status: i.status,
    opened_at: i.opened_at,
    resolved_at: i.resolved_at,
    signal_kinds: [
      ...new Set(
        i.signals
          .map((s) => (s as { kind?: unknown }).kind)
          .filter((k): k is string => typeof k === "string" && k !== ""),
      ),
    ],
  };
}

const groupsOf = (env: Env, key: string) => env.INCIDENT_GROUPS.get(env.INCIDENT_GROUPS.idFromName(key));

/** The host of the service's proxied origin (the cached service directory), or null for a service without one. */
async function originOf(env: Env, service: string): Promise<string | null> {
  const dir = await withTimeout(serviceDirectory(env), CALL_BUDGET_MS);
  const config = dir.byName.get(service);
  // D1 unreachable: a service configured through the API would look ingest-only and group apart.
  if (!config && !dir.complete) throw new Error("service directory incomplete: origin unknown");
  return originHost(config?.origin);
}

/** Tells the service's group object about incidents that just opened (recent ones only: a replay of old traffic groups nothing). */
export async function joinOpened(env: Env, opened: readonly Incident[], now: number): Promise<void> {
  if (groupSettings(env).windowMs <= 0) return;
  for (const i of opened) {
    if (now - i.last_event_at > ANNOUNCE_WITHIN_MS) continue;
    try {
      const origin = await originOf(env, i.service);
      await withTimeout(
        groupsOf(env, groupKey(i.service, origin)).memberOpened(memberOf(i, origin), now),
        CALL_BUDGET_MS,
      );
    } catch (err) {
      // The alert's own route asks again before it goes out.
      log("warn", "incident_group_join_failed", {
        id: i.id,
        service: i.service,
        message: err instanceof Error ? err.message : String(err),
      });
    }
  }
}

/** The fan-out decision of one of the endpoint's alerts (the outbox sends when this throws). */
export async function routeAlert(
  env: Env,
  incident: Incident | undefined,
  event: AlertEvent,
  now: number,
): Promise<EventRoute> {
  if (!incident || event === "test" || groupSettings(env).windowMs <= 0) return { kind: "send" };
  const origin = await originOf(env, incident.service);
  const key = groupKey(incident.service, origin);
  let groups = groupsOf(env, key);
  let member = memberOf(incident, origin);
  // A member that joined its service's own group (before the service had an origin, or before
  // groups went per origin) keeps reporting there, so that group still resolves and says so.
  if (
    event !== "incident.opened" &&
    key !== incident.service &&
    !(await withTimeout(groups.hasMember(incident.id), CALL_BUDGET_MS))
  ) {
    groups = groupsOf(env, incident.service);
    member = memberOf(incident, null);
  }
  const wire = await withTimeout(groups.routeMemberAlert(member, event, now), CALL_BUDGET_MS);
  return fromWire({ kind: wire.kind, reason: wire.reason, until: wire.until });
}
