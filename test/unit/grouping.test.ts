/**
 * The pure rules of incident groups: which group a member joins (the window), the grace of the
 * first member's alert, who carries the alerts (nobody, the first member alone, the group), the
 * worst severity, "origin down", when the group resolves, and the Slack and PagerDuty payloads of
 * a group alert (status and group, one dedup key).
 */
import { describe, expect, it } from "vitest";
import type { AlertMessage, ApiIncident } from "../../src/alerts/alert-message";
import { pagerDutyEvent } from "../../src/alerts/pagerduty";
import { slackMessage } from "../../src/alerts/slack";
import { toApiGroup } from "../../src/incidents/group-store";
import {
  findGroup,
  groupExplanation,
  groupKey,
  groupSettings,
  newGroup,
  originDown,
  originHost,
  withMember,
  type MemberInput,
} from "../../src/incidents/grouping";
import { groupAlertFor, groupOpenDue, groupReminderDue, routeMemberAlert } from "../../src/incidents/group-alerts";

const MINUTE = 60_000;
const T = Date.UTC(2026, 0, 5, 12, 0, 0);
const S = groupSettings({ INCIDENT_GROUP_WINDOW_MINUTES: "5", INCIDENT_GROUP_GRACE_SECONDS: "60" });

function member(n: number, over: Partial<MemberInput> = {}): MemberInput {
  return {
    incident_id: `inc_${n}`,
    service: "shop",
    method: "GET",
    route: `/r${n}`,
    severity: "WARNING",
    status: "open",
    opened_at: T,
    resolved_at: null,
    signal_kinds: ["error_rate_threshold"],
    ...over,
  };
}

describe("settings", () => {
  it("reads the window and the grace, with defaults for unset or invalid values", () => {
    expect(groupSettings({})).toEqual({ windowMs: 5 * MINUTE, graceMs: 60_000 });
    expect(groupSettings({ INCIDENT_GROUP_WINDOW_MINUTES: "0", INCIDENT_GROUP_GRACE_SECONDS: "-3" })).toEqual({
      windowMs: 0,
      graceMs: 60_000,
    });
    expect(groupSettings({ INCIDENT_GROUP_WINDOW_MINUTES: "10", INCIDENT_GROUP_GRACE_SECONDS: "abc" })).toEqual({
      windowMs: 10 * MINUTE,
      graceMs: 60_000,
    });
  });
});

describe("joining", () => {
  it("joins an open group of the service opened within the window, not one of another service or further away", () => {
    const g = newGroup(member(1), T, S);
    expect(findGroup([g], member(2, { opened_at: T + 5 * MINUTE }), S)?.id).toBe(g.id);
    expect(findGroup([g], member(2, { opened_at: T + 6 * MINUTE }), S)).toBeNull();
    expect(findGroup([g], member(2, { service: "other" }), S)).toBeNull();
    expect(findGroup([{ ...g, status: "resolved" }], member(2), S)).toBeNull();
  });
});

describe("who alerts", () => {
  it("the first member waits for the grace; a second member within it makes both skip, and the group opens once the grace is over", () => {
    let g = newGroup(member(1), T, S);
    expect(routeMemberAlert(g, "inc_1", "incident.opened", T + 1000).route).toEqual({
      kind: "wait",
      until: T + 60_000,
    });
    const before = g;
    g = withMember(g, member(2), T + 20_000);
    expect(groupAlertFor(before, g)).toBeNull();
    expect(routeMemberAlert(g, "inc_1", "incident.opened", T + 60_000).route.kind).toBe("skip");
    expect(routeMemberAlert(g, "inc_2", "incident.opened", T + 60_000).route.kind).toBe("skip");
    expect(groupOpenDue(g, T + 59_000)).toBe(false);
    expect(groupOpenDue(g, T + 60_000)).toBe(true);
  });

  it("alone when the grace ends: alerts as an ordinary incident; a later member updates that alert (its key), never pages again", () => {
    const g = newGroup(member(1), T, S);
    const alone = routeMemberAlert(g, "inc_1", "incident.opened", T + 60_000);
    expect(alone.route).toEqual({ kind: "send" });
    expect(alone.group).toMatchObject({ alert: "lead", dedup_key: "inc_1" });
    expect(groupOpenDue(alone.group, T + 61_000)).toBe(false);
    // Its other changes go alone too while it is alone.
    expect(routeMemberAlert(alone.group, "inc_1", "incident.escalated", T + 61_000).route).toEqual({ kind: "send" });
    const joined = withMember(alone.group, member(2, { opened_at: T + 2 * MINUTE }), T + 3 * MINUTE);
    expect(groupAlertFor(alone.group, joined)).toBe("incident.updated");
    expect(joined.dedup_key).toBe("inc_1");
    expect(groupOpenDue(joined, T + 3 * MINUTE)).toBe(false);
    expect(routeMemberAlert(joined, "inc_2", "incident.opened", T + 3 * MINUTE).route.kind).toBe("skip");
  });

  it("a grouped member's escalation escalates the group (worst severity); the resolve goes when the last member resolves", () => {
    let g = withMember(newGroup(member(1), T, S), member(2), T);
    g = { ...g, alert: "group", dedup_key: g.id };
    const escalated = withMember(g, member(2, { severity: "CRITICAL" }), T + MINUTE);
    expect(escalated.severity).toBe("CRITICAL");
    expect(groupAlertFor(g, escalated)).toBe("incident.escalated");
    const oneDone = withMember(
      escalated,
      member(1, { status: "resolved", resolved_at: T + 10 * MINUTE }),
      T + 10 * MINUTE,
    );
    expect(oneDone.status).toBe("open");
    expect(groupAlertFor(escalated, oneDone)).toBeNull();
    expect(routeMemberAlert(oneDone, "inc_1", "incident.resolved", T + 10 * MINUTE).route.kind).toBe("skip");
    const allDone = withMember(
      oneDone,
      member(2, { severity: "CRITICAL", status: "resolved", resolved_at: T + 12 * MINUTE }),
      T + 12 * MINUTE,
    );
    expect(allDone).toMatchObject({ status: "resolved", resolved_at: T + 12 * MINUTE, severity: "CRITICAL" });
    expect(groupAlertFor(oneDone, allDone)).toBe("incident.resolved");
    expect(groupAlertFor(allDone, allDone)).toBeNull();
  });

  it("a group that resolved before its grace ended still opens (and then resolves): its members' alerts were skipped for it", () => {
    let g = withMember(newGroup(member(1), T, S), member(2), T);
    g = withMember(
      withMember(g, member(1, { status: "resolved", resolved_at: T + 1 }), T + 1),
      member(2, { status: "resolved", resolved_at: T + 2 }),
      T + 2,
    );
    expect(g.status).toBe("resolved");
    expect(groupAlertFor(null, g)).toBeNull();
    expect(groupOpenDue(g, T + 60_000)).toBe(true);
  });
});

describe("reminders", () => {
  it("a group reminds once for its members: open, CRITICAL, announced, and the interval since its last alert over", () => {
    const g = {
      ...withMember(newGroup(member(1, { severity: "CRITICAL" }), T, S), member(2), T),
      alert: "group" as const,
    };
    expect(groupReminderDue(g, T, 240, T + 240 * MINUTE)).toBe(true);
    expect(groupReminderDue(g, T, 240, T + 239 * MINUTE)).toBe(false);
    expect(groupReminderDue(g, null, 240, T)).toBe(true);
    expect(groupReminderDue(g, T, 0, T + 999 * MINUTE)).toBe(false);
    expect(groupReminderDue({ ...g, alert: "none" }, null, 240, T)).toBe(false);
    expect(groupReminderDue({ ...g, severity: "WARNING" }, null, 240, T)).toBe(false);
    expect(groupReminderDue({ ...g, status: "resolved" }, null, 240, T)).toBe(false);
  });
});

describe("origin down", () => {
  it("needs a failing probe together with failing traffic", () => {
    expect(originDown([{ signal_kinds: ["probe_failed"] }])).toBe(false);
    expect(originDown([{ signal_kinds: ["error_rate_threshold"] }])).toBe(false);
    expect(originDown([{ signal_kinds: ["probe_failed"] }, { signal_kinds: ["traffic_stop"] }])).toBe(true);
    const g = withMember(newGroup(member(1, { signal_kinds: ["probe_failed"] }), T, S), member(2), T);
    expect(g.origin_down).toBe(true);
    expect(groupExplanation(g)).toContain("the origin is down");
  });
});

const payloadGroup = withMember(
  newGroup(member(1, { signal_kinds: ["probe_failed"] }), T, S),
  member(2, { severity: "CRITICAL" }),
  T,
);
/** An incident as a group alert carries it (the lead member with the group). */
const incident = {
  id: "inc_1",
  service: "shop",
  method: "GET",
  route: "/r1",
  severity: payloadGroup.severity,
  status: "open",
  opened_at: T,
  escalated_at: null,
  resolved_at: null,
  last_event_at: T,
  severity_score: 0.9,
  health_score: 10,
  action: "RETRY",
  signals: [],
  explanation: groupExplanation(payloadGroup),
  figures_at_open: {},
  figures: {},
  timeline: [],
  reopened_count: 0,
  concentration: [],
  updated_at: T,
  ai_summary: null,
  ai_model: null,
  ai_status: null,
  ai_error: null,
  ai_updated_at: null,
  in_maintenance: false,
  maintenance_id: null,
  maintenance_released_at: null,
  deploy: null,
  group: { ...toApiGroup(payloadGroup), dedup_id: "inc_1" },
} as ApiIncident;

describe("group alert payloads", () => {
  const g = payloadGroup;
  const message = (event: AlertMessage["event"], status = "open"): AlertMessage => ({
    id: "msg_1",
    event,
    timestamp: T,
    incident: { ...incident, status },
    dashboard_url: null,
  });

  it("Slack names the endpoints, the state and the group", () => {
    const slack = slackMessage(message("incident.opened"));
    expect(slack.text).toBe("[CRITICAL] shop: 2 endpoints (origin down): incident opened");
    const text = JSON.stringify(slack.blocks);
    expect(text).toContain("GET /r1 (WARNING, open)");
    expect(text).toContain(`status: *firing* · group ${g.id} (2 endpoints, origin down)`);
    expect(JSON.stringify(slackMessage(message("incident.resolved", "resolved")).blocks)).toContain(
      "status: *resolved*",
    );
  });

  it("PagerDuty keeps the group's dedup key and carries the state and the group", () => {
    const trigger = pagerDutyEvent("R0UTINGKEY0123456789abcdefABCDEF", message("incident.updated"));
    expect(trigger).toMatchObject({
      event_action: "trigger",
      dedup_key: "inc_1",
      payload: { source: "shop", severity: "critical" },
    });
    expect(trigger.payload?.custom_details).toMatchObject({
      alert_status: "firing",
      group: { id: g.id, origin_down: true },
    });
    const resolve = pagerDutyEvent("R0UTINGKEY0123456789abcdefABCDEF", message("incident.resolved", "resolved"));
    expect(resolve).toMatchObject({ event_action: "resolve", dedup_key: "inc_1" });
    expect(resolve.payload?.custom_details).toMatchObject({ alert_status: "resolved" });
  });
});

describe("groups per proxied origin", () => {
  it("keys services behind one origin host together, and services without an origin per service", () => {
    expect(originHost("https://API.example.com:8443/base")).toBe("api.example.com:8443");
    expect(originHost("http://api.example.com")).toBe("api.example.com");
    expect(originHost(undefined)).toBeNull();
    expect(originHost("not a url")).toBeNull();
    expect(groupKey("shop", "api.example.com")).toBe("origin:api.example.com");
    expect(groupKey("cart", "api.example.com")).toBe("origin:api.example.com");
    expect(groupKey("shop", null)).toBe("shop");
  });

  it("joins a member of another service behind the same origin, not one behind another origin or without one", () => {
    const shop = (n: number, origin: string | null) => member(n, { service: "shop", origin });
    const cart = (n: number, origin: string | null) => member(n, { service: "cart", origin });
    const g = newGroup(shop(1, "api.example.com"), T, S);
    expect(findGroup([g], cart(2, "api.example.com"), S)?.id).toBe(g.id);
    expect(findGroup([g], cart(2, "other.example.com"), S)).toBeNull();
    expect(findGroup([g], cart(2, null), S)).toBeNull();
    // Ingest-only services (no origin) group per service, as before.
    const ingest = newGroup(shop(3, null), T, S);
    expect(findGroup([ingest], shop(4, null), S)?.id).toBe(ingest.id);
    expect(findGroup([ingest], cart(4, null), S)).toBeNull();
  });

  it("names the services and the origin in the group, its explanation and its alerts", () => {
    let g = newGroup(member(1, { service: "shop", origin: "api.example.com" }), T, S);
    g = withMember(g, member(2, { service: "cart", origin: "api.example.com" }), T);
    g = { ...g, alert: "group" };
    const api = toApiGroup(g);
    expect(api).toMatchObject({ service: "shop", services: ["shop", "cart"], origin: "api.example.com" });
    expect(api.members.map((m) => m.service)).toEqual(["shop", "cart"]);
    expect(groupExplanation(g)).toContain("2 endpoints of shop, cart (behind origin api.example.com)");
    const lead = { ...incident, group: { ...api, dedup_id: g.id } } as ApiIncident;
    const message: AlertMessage = {
      id: "msg_1",
      event: "incident.opened",
      timestamp: T,
      incident: lead,
      dashboard_url: null,
    };
    expect(slackMessage(message).text).toContain("origin api.example.com: 2 endpoints of shop, cart");
    expect(JSON.stringify(slackMessage(message).blocks)).toContain("of shop, cart behind origin api.example.com");
    const pd = pagerDutyEvent("R0UTINGKEY0123456789abcdefABCDEF", message);
    expect(pd.payload.source).toBe("origin api.example.com");
    expect(pd.payload.summary).toContain("origin api.example.com");
    expect(pd.payload.component).toContain("cart GET /r2");
  });
});
