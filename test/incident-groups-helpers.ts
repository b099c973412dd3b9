/**
 * What the grouped-incident tests (test/incident-groups*.test.ts) share: alert channels whose
 * receivers are the origin worker's /hooks and what those received, traffic of several endpoints
 * of a service, and running the endpoint objects and then the group objects' alerts.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { IncidentGroups } from "../src/incidents/group-object";
import { ADMIN_KEY, call, eventually, flushAll, getJson } from "./helpers";
import { traffic, type Phase } from "./traffic";

export const SECRET = `whsec_${btoa("0123456789abcdef0123456789abcdef")}`;
export const PD_KEY = "R0UTINGKEY0123456789abcdefABCDEF";
export const admin = { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" };
export const MINUTE = 60_000;

export const BASELINE: Phase = { minutes: 30, perMinute: 20 };
export const OUTAGE: Phase = { minutes: 4, perMinute: 20, errorRate: 0.8 };

/** The bodies the origin worker's receiver `/hooks/<name>` was sent, parsed. */
export async function hooks<T>(name: string): Promise<T[]> {
  const res = await env.ORIGIN.fetch(new Request(`http://origin.test/hooks/${name}`));
  return (await res.json<{ body: string }[]>()).map((h) => JSON.parse(h.body) as T);
}

/** A webhook, a Slack and a PagerDuty channel that only `service`'s incidents reach, each with its own receiver. */
export async function channels(service: string): Promise<void> {
  const bodies = [
    {
      type: "webhook",
      name: `${service}-hook`,
      url: `http://127.0.0.1/hooks/${service}-hook`,
      secret: SECRET,
      services: [service],
    },
    { type: "slack", name: `${service}-slack`, url: `http://127.0.0.1/hooks/${service}-slack`, services: [service] },
    {
      type: "pagerduty",
      name: `${service}-pd`,
      url: `http://127.0.0.1/hooks/${service}-pd`,
      secret: PD_KEY,
      services: [service],
    },
  ];
  for (const body of bodies)
    expect(
      (await call("/v1/alert-channels", { method: "POST", headers: admin, body: JSON.stringify(body) })).status,
    ).toBe(201);
}

/** The records of `phases` for each endpoint (seeded by its position), ending `endsAgo` ms before now. */
export function records(
  service: string,
  endpoints: readonly { method: string; route: string }[],
  phases: Phase[],
  endsAgo: number,
): Record<string, unknown>[] {
  return endpoints.flatMap((e, n) =>
    traffic(service, phases, { seed: n + 1, endsAgo }).records.map((r) => ({
      ...r,
      method: e.method,
      route: e.route,
      path: String(r.path).replace("/orders/", e.route.replace(":id", "")),
    })),
  );
}

/**
 * Runs the endpoint objects, then the alerts of the group objects of `keys` (a service, or an
 * origin's `origin:<host>`). A group's own alarm may have handed its due alerts to ALERTS_QUEUE
 * meanwhile (leased to the hand-off, first attempts not due before the lease ends): waits until the
 * queue's consumer has sent and reported them.
 */
export async function settle(...keys: string[]): Promise<void> {
  await flushAll();
  for (const key of keys) {
    const stub = env.INCIDENT_GROUPS.get(env.INCIDENT_GROUPS.idFromName(key));
    await runInDurableObject(stub, (groups: IncidentGroups) => groups.settleAt(Date.now()));
    const handedOff = () =>
      runInDurableObject(stub, (_groups: IncidentGroups, state) =>
        state.storage.sql
          .exec<{ n: number }>(
            "SELECT count(*) AS n FROM alert_outbox WHERE status = 'pending' AND attempt = 0 AND next_at > ?",
            Date.now(),
          )
          .one(),
      );
    await eventually(async () => (await handedOff()).n === 0, 20_000);
  }
}

/** `GET /v1/incidents?service=`: the incidents and the groups. */
export async function incidentsOf<I, G>(service: string): Promise<{ incidents: I[]; groups: G[] }> {
  return (await getJson<{ incidents: I[]; groups: G[] }>(`/v1/incidents?service=${service}`)).body;
}
