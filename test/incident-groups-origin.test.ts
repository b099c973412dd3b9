/**
 * Grouped incidents per proxied origin (real local D1 and Durable Objects; the webhook, Slack and
 * PagerDuty receivers are the origin worker's /hooks): two services proxied to the same origin
 * host that fail together form one group and page once per channel, naming both services; two
 * services behind different origins form two groups; a service without an origin (ingest only)
 * still groups per service. And probes failing together with traffic mark the group origin down.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { handOff } from "../src/ingest/handoff";
import { originDown } from "../src/incidents/grouping";
import type { Incident as DetectedIncident } from "../src/detect/incident";
import { routeAlert } from "../src/monitor/group-link";
import { probeRecord } from "../src/probes/check";
import {
  admin,
  BASELINE,
  channels,
  hooks,
  incidentsOf as incidentsIn,
  MINUTE,
  OUTAGE,
  records,
  settle,
} from "./incident-groups-helpers";
import { call, postLogs } from "./helpers";
import { send, type Phase } from "./traffic";

const THREE = [
  { method: "GET", route: "/orders/:id" },
  { method: "POST", route: "/orders/:id" },
  { method: "GET", route: "/items/:id" },
];

type Member = { incident_id: string; service: string; method: string; route: string };
type Group = {
  id: string;
  service: string;
  services: string[];
  origin: string | null;
  origin_down: boolean;
  members: Member[];
  explanation: string;
};
type Webhook = { type: string; status: string; group: Group | null };
type Slack = { text: string; blocks: unknown[] };
type PagerDuty = {
  event_action: string;
  dedup_key: string;
  payload: { summary: string; source: string; custom_details: { group: Group | null } };
};
type Incident = { id: string; service: string; group_id: string | null; signals: { kind: string }[] };

const incidentsOf = (service: string) => incidentsIn<Incident, Group>(service);

/** Configures `service` as proxied to `origin` (as `PUT /v1/services/:name` does). */
async function proxied(service: string, origin: string): Promise<void> {
  const res = await call(`/v1/services/${service}`, {
    method: "PUT",
    headers: admin,
    body: JSON.stringify({ origin }),
  });
  expect([200, 201]).toContain(res.status);
}

/** Baseline, then the outage of every endpoint of `services` in one hand-off, 20 min ago. */
async function outage(services: readonly string[]): Promise<void> {
  await send(services.flatMap((s) => records(s, THREE, [BASELINE], 24 * MINUTE)));
  const failing = services.flatMap((s) => records(s, THREE, [OUTAGE], 20 * MINUTE));
  expect(failing.length).toBeLessThanOrEqual(1000);
  await send(failing);
}

describe("services proxied to the same origin", () => {
  it("fail together as one group: one alert per channel naming both services and all six endpoints", async () => {
    const [a, b] = ["orig-shop", "orig-cart"];
    const host = "shared-origin.test";
    await proxied(a, `https://${host}`);
    await proxied(b, `https://${host}/cart`);
    await channels(a);
    await channels(b);
    await outage([a, b]);
    await settle(`origin:${host}`);

    for (const service of [a, b]) {
      const webhooks = await hooks<Webhook>(`${service}-hook`);
      expect(webhooks.map((m) => [m.type, m.status])).toEqual([["incident.opened", "firing"]]);
      const group = webhooks[0]?.group;
      expect(group?.members).toHaveLength(6);
      expect(new Set(group?.services)).toEqual(new Set([a, b]));
      expect(group?.origin).toBe(host);
      expect(new Set(group?.members.map((m) => `${m.service} ${m.method} ${m.route}`))).toEqual(
        new Set([a, b].flatMap((s) => THREE.map((e) => `${s} ${e.method} ${e.route}`))),
      );
      const slack = await hooks<Slack>(`${service}-slack`);
      expect(slack).toHaveLength(1);
      expect(slack[0]?.text).toContain(`origin ${host}: 6 endpoints of`);
      for (const s of [a, b]) expect(slack[0]?.text).toContain(s);
      const pd = await hooks<PagerDuty>(`${service}-pd`);
      expect(pd.map((e) => [e.event_action, e.dedup_key])).toEqual([["trigger", group?.id]]);
      expect(pd[0]?.payload.summary).toContain(`origin ${host}`);
      expect(pd[0]?.payload.source).toBe(`origin ${host}`);
    }

    // The API: both services' incidents carry the one group, which names its services and origin.
    const ofA = await incidentsOf(a);
    const ofB = await incidentsOf(b);
    expect(ofA.incidents).toHaveLength(3);
    expect(ofB.incidents).toHaveLength(3);
    const ids = new Set([...ofA.incidents, ...ofB.incidents].map((i) => i.group_id));
    expect(ids.size).toBe(1);
    expect(ofA.groups).toHaveLength(1);
    expect(ofA.groups[0]).toMatchObject({ origin: host });
    expect(new Set(ofA.groups[0]?.services)).toEqual(new Set([a, b]));
    expect(ofA.groups[0]?.members).toHaveLength(6);
    expect(ofA.groups[0]?.explanation).toContain(`behind origin ${host}`);
  });
});

describe("services behind different origins", () => {
  it("form two groups, each paging its own channels once", async () => {
    const [a, b] = ["orig-left", "orig-right"];
    await proxied(a, "https://left-origin.test");
    await proxied(b, "https://right-origin.test");
    await channels(a);
    await channels(b);
    await outage([a, b]);
    await settle("origin:left-origin.test", "origin:right-origin.test");
    const ofA = await incidentsOf(a);
    const ofB = await incidentsOf(b);
    expect(ofA.groups).toHaveLength(1);
    expect(ofB.groups).toHaveLength(1);
    expect(ofA.groups[0]?.id).not.toBe(ofB.groups[0]?.id);
    expect(ofA.groups[0]).toMatchObject({ services: [a], origin: "left-origin.test" });
    expect(ofB.groups[0]).toMatchObject({ services: [b], origin: "right-origin.test" });
    for (const [service, group] of [
      [a, ofA.groups[0]],
      [b, ofB.groups[0]],
    ] as const) {
      const webhooks = await hooks<Webhook>(`${service}-hook`);
      expect(webhooks.map((m) => [m.type, m.group?.id, m.group?.members.length])).toEqual([
        ["incident.opened", group?.id, 3],
      ]);
      expect((await hooks<Slack>(`${service}-slack`))[0]?.text).toContain(`${service}: 3 endpoints`);
    }
  });
});

describe("ingest-only services (no origin)", () => {
  it("still group per service: two such services failing together are two groups", async () => {
    const [a, b] = ["ingest-only-a", "ingest-only-b"];
    await channels(a);
    await outage([a, b]);
    await settle(a, b);
    const ofA = await incidentsOf(a);
    const ofB = await incidentsOf(b);
    expect(ofA.groups).toHaveLength(1);
    expect(ofB.groups).toHaveLength(1);
    expect(ofA.groups[0]).toMatchObject({ service: a, services: [a], origin: null });
    expect(ofA.groups[0]?.members).toHaveLength(3);
    expect(ofA.groups[0]?.members.every((m) => m.service === a)).toBe(true);
    const webhooks = await hooks<Webhook>(`${a}-hook`);
    expect(webhooks.map((m) => [m.type, m.group?.id])).toEqual([["incident.opened", ofA.groups[0]?.id]]);
  });
});

describe("probes failing together with traffic", () => {
  it("mark the group origin down", async () => {
    const service = "grp-probe-down";
    const [probed, failing] = THREE;
    if (!probed || !failing) throw new Error("two endpoints");
    await send(records(service, [probed, failing], [BASELINE], 24 * MINUTE));
    // The outage: one endpoint's traffic fails; the other's synthetic probe fails once a minute
    // (records with source "probe", as the probe runner hands them off) while its traffic is fine.
    // The probe needs two failures in a row and WARNING's two minutes held, so it fails for 8
    // minutes from the outage's start; the probed endpoint's own traffic stays healthy up to now
    // (so that its incident holds the probe's signal and no traffic failure of its own).
    const start = Math.floor((Date.now() - 20 * MINUTE) / MINUTE) * MINUTE - OUTAGE.minutes * MINUTE;
    const PROBED: Phase = { minutes: 24, perMinute: 20 };
    const probes = Array.from({ length: 8 }, (_, m) =>
      probeRecord({
        service,
        probe: "orders",
        method: probed.method,
        path: "/orders/1",
        ok: false,
        status: 503,
        startedAt: start + m * MINUTE + 30_000,
        latencyMs: 12,
        ttfbMs: 10,
        responseBytes: 0,
        responseEmpty: true,
        inconsistent: false,
        error: "expected status 200, got 503",
        requestId: `probe-${m}`,
      }),
    ).filter((r) => r !== null);
    expect(probes).toHaveLength(8);
    // In event-time order, a minute at a time (as they would arrive live): an object judges the
    // minutes its records close, so a probe handed off ahead of the traffic would close them empty.
    const traffic = [...records(service, [probed], [PROBED], 0), ...records(service, [failing], [OUTAGE], 20 * MINUTE)];
    for (let m = 0; m < PROBED.minutes; m++) {
      const inMinute = traffic.filter((r) => Math.floor((Number(r.timestamp) - start) / MINUTE) === m);
      if (inMinute.length > 0) expect((await postLogs(inMinute, { sync: true })).status).toBe(202);
      const probe = probes[m];
      if (probe) expect((await handOff(env, [probe])).failed).toBe(0);
    }
    await settle(service);

    const listed = await incidentsOf(service);
    const kinds = (i: Incident | undefined) => (i?.signals ?? []).map((s) => s.kind);
    // The probed endpoint's incident holds the probe's failure only; the traffic failure is the other endpoint's.
    const ofProbed = listed.incidents.find((i) => (i as unknown as { method: string }).method === probed.method);
    expect(kinds(ofProbed)).toEqual(["probe_failed"]);
    expect(originDown([{ signal_kinds: kinds(ofProbed) }])).toBe(false);
    expect(listed.groups).toHaveLength(1);
    expect(listed.groups[0]?.members).toHaveLength(2);
    expect(listed.groups[0]?.origin_down).toBe(true);
    expect(listed.groups[0]?.explanation).toContain("the origin is down");
  });
});

describe("a group formed per service before its service had an origin", () => {
  it("still hears of its members' later changes (so it resolves and pages once), while new incidents group per origin", async () => {
    const service = "orig-legacy";
    const now = Date.now();
    const member = (n: number) => ({
      incident_id: `inc_legacy_${n}`,
      service,
      method: "GET",
      route: `/r${n}`,
      severity: "CRITICAL" as const,
      status: "open" as const,
      opened_at: now - 10 * MINUTE,
      resolved_at: null,
      signal_kinds: ["error_rate_threshold"],
    });
    // Two members joined the service's own group object (as before origin groups) ...
    const legacy = env.INCIDENT_GROUPS.get(env.INCIDENT_GROUPS.idFromName(service));
    await legacy.memberOpened(member(1), now);
    await legacy.memberOpened(member(2), now);
    // ... then the service gets an origin.
    await proxied(service, "https://legacy-origin.test");
    const incident = (n: number) =>
      ({
        ...member(n),
        id: `inc_legacy_${n}`,
        last_event_at: now,
        signals: [{ kind: "error_rate_threshold" }],
      }) as unknown as DetectedIncident;
    // The member's update is still carried by its group (skipped), not sent alone.
    const route = await routeAlert(env, incident(1), "incident.updated", now);
    expect(route).toMatchObject({ kind: "skip" });
    // A new incident of the service goes to the origin's group object.
    await routeAlert(env, incident(3), "incident.opened", now);
    expect(
      await env.INCIDENT_GROUPS.get(env.INCIDENT_GROUPS.idFromName("origin:legacy-origin.test")).hasMember(
        "inc_legacy_3",
      ),
    ).toBe(true);
    expect(await legacy.hasMember("inc_legacy_3")).toBe(false);
  });
});
