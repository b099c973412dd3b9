/**
 * Grouped incidents end to end (real local D1 and Durable Objects; the webhook, Slack and
 * PagerDuty receivers are the origin worker's /hooks): an origin outage across 8 endpoints of one
 * service alerts once per channel naming eight members; inside a maintenance window it alerts
 * nothing and the incidents are marked; one endpoint failing alone alerts as before; the group
 * resolves (and says so once) only when its last member resolves; a member that opens after the
 * first endpoint already alerted alone turns that alert into the group's without a second page.
 * test/unit/grouping.test.ts covers the rules themselves (the grace, severity, origin down).
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import { prune } from "../src/retention/prune";
import { describe, expect, it } from "vitest";
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
import { call, endpointStub, getJson } from "./helpers";
import { send, type Phase } from "./traffic";

const METHODS = ["GET", "POST", "PUT", "DELETE"];
const ROUTES = ["/orders/:id", "/items/:id"];
/** Eight endpoints: four methods on two routes (the test cap is 5 routes per service). */
const EIGHT = ROUTES.flatMap((route) => METHODS.map((method) => ({ method, route })));

type Member = { incident_id: string; method: string; route: string; severity: string; status: string };
type Group = {
  id: string;
  status: string;
  severity: string;
  origin_down: boolean;
  members: Member[];
  dedup_id?: string;
};
type Webhook = {
  type: string;
  status: string;
  group: Group | null;
  data: { id: string; status: string; severity: string };
};
type Slack = { text: string; blocks: { type: string; elements?: { text: string }[] }[] };
type PagerDuty = {
  event_action: string;
  dedup_key: string;
  payload: { summary: string; custom_details: { alert_status: string; group: Group | null } };
};
type Incident = {
  id: string;
  status: string;
  severity: string;
  in_maintenance: boolean;
  group_id: string | null;
  method: string;
  route: string;
};

const incidentsOf = (service: string) => incidentsIn<Incident, Group>(service);

/**
 * Lets the members recover within the test: a 5xx outage stays in the hour's error rate
 * (error_rate_baseline over 1 h) for an hour of event time, which a test cannot wait for, so the
 * service's settings stop judging rates (min_events) and resolve after 3 clean minutes; each
 * endpoint object reads them at once. The incidents then resolve through the ordinary machine.
 */
async function recoverable(service: string, endpoints: readonly { method: string; route: string }[]): Promise<void> {
  const body = { resolve_after_minutes: 3, min_events: 100_000 };
  const res = await call(`/v1/services/${service}/detection`, {
    method: "PUT",
    headers: admin,
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  for (const e of endpoints)
    await runInDurableObject(endpointStub(service, e.method, e.route), (monitor: EndpointMonitor) =>
      monitor.detection.invalidateConfig(),
    );
}

const HEALTHY: Phase = { minutes: 18, perMinute: 20 };

describe("an origin outage across 8 endpoints of one service", () => {
  it("alerts once per channel with eight members, and resolves only when the last member resolves", async () => {
    const service = "grp-outage";
    await channels(service);
    // The baseline, then the outage of all eight in one hand-off (as an origin outage arrives), 20 min ago.
    await send(records(service, EIGHT, [BASELINE], 24 * MINUTE));
    const outage = records(service, EIGHT, [OUTAGE], 20 * MINUTE);
    expect(outage.length).toBeLessThanOrEqual(1000);
    await send(outage);
    await settle(service);

    const webhooks = await hooks<Webhook>(`${service}-hook`);
    expect(webhooks.map((m) => [m.type, m.status])).toEqual([["incident.opened", "firing"]]);
    const group = webhooks[0]?.group;
    expect(group?.members).toHaveLength(8);
    expect(new Set(group?.members.map((m) => `${m.method} ${m.route}`))).toEqual(
      new Set(EIGHT.map((e) => `${e.method} ${e.route}`)),
    );
    expect(group?.origin_down).toBe(false);
    const slack = await hooks<Slack>(`${service}-slack`);
    expect(slack).toHaveLength(1);
    expect(slack[0]?.text).toContain(`${service}: 8 endpoints`);
    expect(JSON.stringify(slack[0]?.blocks)).toContain(`status: *firing*`);
    expect(JSON.stringify(slack[0]?.blocks)).toContain(`group ${group?.id}`);
    const pd = await hooks<PagerDuty>(`${service}-pd`);
    expect(pd.map((e) => [e.event_action, e.dedup_key])).toEqual([["trigger", group?.id]]);
    expect(pd[0]?.payload.custom_details.alert_status).toBe("firing");
    expect(pd[0]?.payload.custom_details.group?.members).toHaveLength(8);

    // The API: every member carries the group's id; the group lists its eight members.
    const listed = await incidentsOf(service);
    expect(listed.incidents).toHaveLength(8);
    expect(listed.incidents.every((i) => i.group_id === group?.id)).toBe(true);
    expect(listed.groups).toHaveLength(1);
    // Severity: the worst member's.
    const worst = listed.incidents.some((i) => i.severity === "CRITICAL") ? "CRITICAL" : "WARNING";
    expect(group?.severity).toBe(worst);
    expect(listed.groups[0]).toMatchObject({ id: group?.id, status: "open", severity: worst });
    expect(new Set(listed.groups[0]?.members.map((m) => m.incident_id))).toEqual(
      new Set(listed.incidents.map((i) => i.id)),
    );

    // Seven recover: the group stays open and nothing more is sent.
    await recoverable(service, EIGHT);
    const recovery = records(service, EIGHT, [HEALTHY], MINUTE);
    const last = EIGHT[7];
    const ofLast = (r: Record<string, unknown>) => r.method === last?.method && r.route === last?.route;
    await send(recovery.filter((r) => !ofLast(r)));
    await settle(service);
    const partly = await incidentsOf(service);
    expect(partly.incidents.filter((i) => i.status === "resolved")).toHaveLength(7);
    expect(partly.groups[0]?.status).toBe("open");
    expect(await hooks<Webhook>(`${service}-hook`)).toHaveLength(1);
    expect(await hooks<PagerDuty>(`${service}-pd`)).toHaveLength(1);

    // The last one recovers: the group resolves, once on each channel, under the same PagerDuty key.
    await send(recovery.filter(ofLast));
    await settle(service);
    const done = await incidentsOf(service);
    expect(done.incidents.every((i) => i.status === "resolved")).toBe(true);
    expect(done.groups[0]?.status).toBe("resolved");
    expect((await hooks<Webhook>(`${service}-hook`)).map((m) => [m.type, m.status])).toEqual([
      ["incident.opened", "firing"],
      ["incident.resolved", "resolved"],
    ]);
    expect((await hooks<Slack>(`${service}-slack`)).map((m) => m.text.split("]")[0])).toEqual([
      `[${worst}`,
      "[RESOLVED",
    ]);
    expect(
      (await hooks<PagerDuty>(`${service}-pd`)).map((e) => [
        e.event_action,
        e.dedup_key,
        e.payload.custom_details.alert_status,
      ]),
    ).toEqual([
      ["trigger", group?.id, "firing"],
      ["resolve", group?.id, "resolved"],
    ]);
  });

  it("inside a maintenance window: no alert on any channel, every incident marked", async () => {
    const service = "grp-maint";
    await channels(service);
    const res = await call("/v1/maintenance", {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ service, starts_at: Date.now() - 2 * 60 * MINUTE, duration_minutes: 4 * 60 }),
    });
    expect(res.status).toBe(201);
    await send(records(service, EIGHT, [BASELINE], 24 * MINUTE));
    await send(records(service, EIGHT, [OUTAGE], 20 * MINUTE));
    await settle(service);
    const listed = await incidentsOf(service);
    expect(listed.incidents).toHaveLength(8);
    expect(listed.incidents.every((i) => i.in_maintenance && i.status === "open")).toBe(true);
    for (const suffix of ["hook", "slack", "pd"]) expect(await hooks(`${service}-${suffix}`)).toEqual([]);
  });
});

describe("one endpoint failing alone", () => {
  it("alerts as it did before groups: its own opening and escalation, group null", async () => {
    const service = "grp-alone";
    await channels(service);
    const healthy = records(service, EIGHT.slice(1), [BASELINE, { ...OUTAGE, errorRate: 0.002 }], 20 * MINUTE);
    const failing = records(service, EIGHT.slice(0, 1), [BASELINE, OUTAGE], 20 * MINUTE);
    await send([...healthy, ...failing]);
    await settle(service);
    const listed = await incidentsOf(service);
    expect(listed.incidents).toHaveLength(1);
    expect(listed.incidents[0]?.group_id).toBeNull();
    expect(listed.groups).toEqual([]);
    const webhooks = await hooks<Webhook>(`${service}-hook`);
    expect(webhooks.map((m) => [m.type, m.status, m.group, m.data.id])).toEqual([
      ["incident.opened", "firing", null, listed.incidents[0]?.id],
    ]);
    expect(webhooks[0]?.data.severity).toBe("CRITICAL");
    expect((await hooks<PagerDuty>(`${service}-pd`)).map((e) => [e.event_action, e.dedup_key])).toEqual([
      ["trigger", listed.incidents[0]?.id],
    ]);
    expect(await hooks<Slack>(`${service}-slack`)).toHaveLength(1);
  });
});

describe("a member that opens after the first endpoint alerted alone", () => {
  it("updates the first alert into the group's (same PagerDuty key: no second page); its own opening is not sent", async () => {
    const service = "grp-late";
    await channels(service);
    const [a, b] = EIGHT;
    if (!a || !b) throw new Error("two endpoints");
    await send(records(service, [a, b], [BASELINE], 24 * MINUTE));
    await send(records(service, [a], [OUTAGE], 20 * MINUTE));
    await settle(service);
    const first = await hooks<Webhook>(`${service}-hook`);
    expect(first.map((m) => [m.type, m.group])).toEqual([["incident.opened", null]]);
    const leadId = first[0]?.data.id;
    // The second endpoint goes bad a minute later in event time (within the 5-minute window).
    await send(records(service, [b], [OUTAGE], 19 * MINUTE));
    await settle(service);
    const webhooks = await hooks<Webhook>(`${service}-hook`);
    expect(webhooks.slice(1).map((m) => [m.type, m.status, m.group?.members.length])).toEqual([
      ["incident.updated", "firing", 2],
    ]);
    const pd = await hooks<PagerDuty>(`${service}-pd`);
    expect(pd.map((e) => [e.event_action, e.dedup_key])).toEqual([
      ["trigger", leadId],
      ["trigger", leadId],
    ]);
    const listed = await incidentsOf(service);
    expect(listed.incidents.map((i) => i.group_id)).toEqual([listed.groups[0]?.id, listed.groups[0]?.id]);
    // The second member's own alerts were recorded as skipped, with the group named.
    const other = listed.incidents.find((i) => i.id !== leadId);
    const deliveries = await getJson<{ deliveries: { status: string; error: string | null }[] }>(
      `/v1/alert-deliveries?incident_id=${other?.id}`,
    );
    expect(deliveries.body.deliveries.length).toBeGreaterThan(0);
    expect(
      deliveries.body.deliveries.every(
        (d) => d.status === "skipped" && (d.error ?? "").includes(listed.groups[0]?.id ?? "?"),
      ),
    ).toBe(true);
  });
});

describe("retention", () => {
  it("prunes resolved groups past INCIDENT_RETENTION_DAYS with their member index, keeps open and recent ones", async () => {
    const day = 24 * 60 * MINUTE;
    const now = Date.now();
    const row = (id: string, status: string, resolvedAt: number | null) =>
      env.DB.prepare(
        "INSERT INTO incident_groups (id, service, status, severity, origin_down, opened_at, resolved_at, explanation, members, updated_at) VALUES (?, 'grp-ret', ?, 'WARNING', 0, ?, ?, '', '[]', ?)",
      ).bind(id, status, now - 100 * day, resolvedAt, now);
    const member = (incident: string, group: string) =>
      env.DB.prepare("INSERT INTO incident_group_members (incident_id, group_id) VALUES (?, ?)").bind(incident, group);
    await env.DB.batch([
      row("grp_ret_old", "resolved", now - 95 * day),
      row("grp_ret_recent", "resolved", now - day),
      row("grp_ret_open", "open", null),
      member("inc_ret_1", "grp_ret_old"),
      member("inc_ret_2", "grp_ret_recent"),
    ]);
    await prune(env, { now, deadline: now + 60_000, cursor: null });
    const groups = await env.DB.prepare("SELECT id FROM incident_groups WHERE service = 'grp-ret' ORDER BY id").all<{
      id: string;
    }>();
    expect(groups.results.map((g) => g.id)).toEqual(["grp_ret_open", "grp_ret_recent"]);
    const members = await env.DB.prepare(
      "SELECT incident_id FROM incident_group_members WHERE incident_id LIKE 'inc_ret_%'",
    ).all<{ incident_id: string }>();
    expect(members.results.map((m) => m.incident_id)).toEqual(["inc_ret_2"]);
  });
});

describe("the group object's settle alarm", () => {
  it("is set by the first call and not pushed back by a burst of later calls", async () => {
    const stub = env.INCIDENT_GROUPS.get(env.INCIDENT_GROUPS.idFromName("burst-svc"));
    const member = (n: number) => ({
      incident_id: `inc_burst_${n}`,
      service: "burst-svc",
      method: "GET",
      route: `/r${n}`,
      severity: "WARNING" as const,
      status: "open" as const,
      opened_at: Date.now(),
      resolved_at: null,
      signal_kinds: ["error_rate_threshold"],
    });
    await stub.memberOpened(member(0));
    const first = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(first).not.toBeNull();
    for (let n = 1; n <= 5; n++) {
      await new Promise((r) => setTimeout(r, 50));
      await stub.memberOpened(member(n));
    }
    // Before: every call moved the alarm to 2 s after itself, so a steady burst postponed the work.
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(first);
  });
});

describe("reconciling open groups with D1", () => {
  it("resolves a group whose members' resolves never reached it, from the incidents in D1", async () => {
    const stub = env.INCIDENT_GROUPS.get(env.INCIDENT_GROUPS.idFromName("recon-svc"));
    const now = Date.now();
    const member = (n: number) => ({
      incident_id: `inc_recon_${n}`,
      service: "recon-svc",
      method: "GET",
      route: `/r${n}`,
      severity: "WARNING" as const,
      status: "open" as const,
      opened_at: now,
      resolved_at: null,
      signal_kinds: ["error_rate_threshold"],
    });
    await stub.memberOpened(member(1), now);
    await stub.memberOpened(member(2), now);
    const groupStatus = () =>
      runInDurableObject(stub, (_i, state) =>
        state.storage.sql
          .exec<{ status: string }>("SELECT status FROM groups")
          .toArray()
          .map((r) => r.status),
      );
    expect(await groupStatus()).toEqual(["open"]);
    // Both incidents resolved in D1 (as their endpoint objects publish them), but neither resolve was routed to the group.
    for (const n of [1, 2]) {
      await env.DB.prepare(
        `INSERT INTO incidents (id, service, method, route, severity, status, opened_at, resolved_at, last_event_at, severity_score, health_score, action, signals, figures, explanation, updated_at)
         VALUES (?, 'recon-svc', 'GET', ?, 'WARNING', 'resolved', ?, ?, ?, 0.5, 50, 'CONTINUE', '[]', '{}', 'x', ?)`,
      )
        .bind(`inc_recon_${n}`, `/r${n}`, now, now + 60_000, now + 60_000, now)
        .run();
    }
    await runDurableObjectAlarm(stub);
    // Before: the group stayed open for ever (nothing looked at D1).
    expect(await groupStatus()).toEqual(["resolved"]);
  });
});
