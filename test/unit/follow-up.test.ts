/**
 * The pure rules of maintenance windows, deploy markers and reminders: which window covers an
 * endpoint when, what a window input means, which deploy an incident follows and how the
 * explanation says it, when a held incident is released, when a reminder is due, and the state
 * every webhook payload carries.
 */
import { describe, expect, it } from "vitest";
import { alertState, type AlertMessage, type ApiIncident } from "../../src/alerts/alert-message";
import { nextReminderAt, reminderMinutes } from "../../src/alerts/reminders";
import { deployBefore, deployId, deployPhrase, versionChange, type Deploy } from "../../src/deploys/deploys";
import { originVersion } from "../../src/proxy/record";
import { explain } from "../../src/detect/explain";
import type { Incident } from "../../src/detect/incident";
import type { Figures } from "../../src/detect/types";
import { coveringWindow, maintenanceInput, windowFrom, type MaintenanceWindow } from "../../src/maintenance/windows";
import { alertsHeld, annotateOpened, releaseHeld } from "../../src/monitor/follow-up";

const MINUTE = 60_000;
const T = Date.UTC(2026, 0, 5, 12, 0, 0);
const figures: Figures = {
  requests_per_minute: 100,
  error_rate: 0.001,
  client_error_rate: 0,
  silent_failure_rate: 0,
  p50_ms: 60,
  p95_ms: 118,
  p99_ms: 300,
  availability_burn_1h: 0,
  latency_burn_1h: 0,
};

function incident(overrides: Partial<Incident> = {}): Incident {
  const i: Incident = {
    id: "inc_x",
    service: "shop",
    method: "GET",
    route: "/orders/:id",
    severity: "CRITICAL",
    status: "open",
    opened_at: T,
    escalated_at: null,
    resolved_at: null,
    last_event_at: T + MINUTE,
    clean_minutes: 0,
    severity_score: 1,
    health_score: 0,
    action: "RETRY",
    signals: [
      {
        kind: "latency_p95_baseline",
        family: "latency",
        level: "warning",
        unit: "ms",
        window: "5m",
        observed: 410,
        peak: 410,
        baseline: 120,
        threshold: null,
        first_event_at: T,
        last_event_at: T + MINUTE,
      },
    ],
    figures_at_open: figures,
    figures,
    explanation: "",
    ...overrides,
  };
  return { ...i, explanation: explain(i) };
}

const window = (overrides: Partial<MaintenanceWindow> = {}): MaintenanceWindow => ({
  id: "mnt_1",
  service: "shop",
  endpoints: null,
  starts_at: T - 10 * MINUTE,
  ends_at: T + 60 * MINUTE,
  reason: null,
  created_at: T - 20 * MINUTE,
  ...overrides,
});

const deploy = (overrides: Partial<Deploy> = {}): Deploy => ({
  id: "dep_1",
  service: "shop",
  version: "v1.42",
  at: T - 4 * MINUTE,
  description: null,
  source: "api",
  ...overrides,
});

describe("maintenance windows", () => {
  it("cover their service's endpoints (or the listed ones) from start (inclusive) to end (exclusive)", () => {
    const e = { service: "shop", method: "GET", route: "/orders/:id" };
    const w = window();
    expect(coveringWindow([w], e, T)).toBe(w);
    expect(coveringWindow([w], e, w.starts_at)).toBe(w);
    expect(coveringWindow([w], e, w.ends_at)).toBeNull();
    expect(coveringWindow([w], e, w.starts_at - 1)).toBeNull();
    // A span overlapping the window's start is covered.
    expect(coveringWindow([w], e, w.starts_at - 5 * MINUTE, w.starts_at + 1)).toBe(w);
    expect(coveringWindow([w], e, w.starts_at - 5 * MINUTE, w.starts_at)).toBeNull();
    expect(coveringWindow([w], { ...e, service: "other" }, T)).toBeNull();
    const some = window({ endpoints: [{ method: "POST", route: "/orders" }] });
    expect(coveringWindow([some], e, T)).toBeNull();
    expect(coveringWindow([some], { service: "shop", method: "POST", route: "/orders" }, T)).toBe(some);
  });

  it("are made from a start and an end, or from now for N minutes", () => {
    const now = T;
    const a = windowFrom(maintenanceInput.parse({ service: "shop", duration_minutes: 30 }), "mnt_a", now);
    expect(a).toEqual({
      ok: true,
      window: {
        id: "mnt_a",
        service: "shop",
        endpoints: null,
        starts_at: now,
        ends_at: now + 30 * MINUTE,
        reason: null,
        created_at: now,
      },
    });
    const b = windowFrom(
      maintenanceInput.parse({ service: "shop", starts_at: "2026-01-05T13:00:00Z", duration_minutes: 60 }),
      "mnt_b",
      now,
    );
    expect(b.ok && b.window.starts_at).toBe(T + 60 * MINUTE);
    expect(windowFrom(maintenanceInput.parse({ service: "shop", starts_at: now, ends_at: now }), "x", now)).toEqual({
      ok: false,
      message: "ends_at must be after starts_at",
    });
    expect(
      windowFrom(
        maintenanceInput.parse({ service: "shop", starts_at: now - 60 * MINUTE, ends_at: now - MINUTE }),
        "x",
        now,
      ).ok,
    ).toBe(false);
    expect(maintenanceInput.safeParse({ service: "shop" }).success).toBe(false);
    expect(maintenanceInput.safeParse({ service: "shop", ends_at: now + 1, duration_minutes: 5 }).success).toBe(false);
  });
});

describe("incidents in a window and after a deploy", () => {
  it("marks an incident opening inside a window, holds its alerts, and releases it once no window covers it", () => {
    const marked = annotateOpened(incident(), { windows: [window()], deploys: [] }, 30 * MINUTE);
    expect(marked).toMatchObject({
      in_maintenance: true,
      maintenance_id: "mnt_1",
      maintenance_released_at: null,
      deploy: null,
    });
    expect(alertsHeld(marked)).toBe(true);
    expect(releaseHeld(marked, [window()], T + 59 * MINUTE)).toBeNull();
    const released = releaseHeld(marked, [window()], T + 60 * MINUTE);
    expect(released?.maintenance_released_at).toBe(T + 60 * MINUTE);
    expect(released && alertsHeld(released)).toBe(false);
    // Deleted window: released at once. Resolved, or never held: nothing to release.
    expect(releaseHeld(marked, [], T)).not.toBeNull();
    expect(releaseHeld({ ...marked, status: "resolved" }, [], T)).toBeNull();
    expect(releaseHeld(incident(), [], T)).toBeNull();
  });

  it("leaves an incident outside any window and without a recent deploy as it was", () => {
    const plain = incident();
    expect(
      annotateOpened(
        plain,
        { windows: [window({ starts_at: T + 5 * MINUTE })], deploys: [deploy({ at: T - 31 * MINUTE })] },
        30 * MINUTE,
      ),
    ).toBe(plain);
  });

  it("names the deploy the incident started after in the explanation", () => {
    const named = annotateOpened(
      incident(),
      { windows: [], deploys: [deploy({ version: "v1.41", at: T - 20 * MINUTE }), deploy()] },
      30 * MINUTE,
    );
    expect(named.deploy).toEqual({ id: "dep_1", version: "v1.42", at: T - 4 * MINUTE, description: null });
    expect(named.in_maintenance).toBe(false);
    expect(named.explanation).toBe(
      "Critical (independent signals agree): p95 latency of GET /orders/:id rose from 120 ms to 410 ms over 1 min while the 5xx rate stayed at 0.1%. Started 4 min after deploy v1.42 of shop.",
    );
    expect(explain({ ...named, status: "resolved", resolved_at: T + 20 * MINUTE, clean_minutes: 15 })).toMatch(
      /Started 4 min after deploy v1\.42 of shop\. Resolved after 15 clean minutes\.$/,
    );
  });

  it("ties an incident to the newest deploy of its service at most the configured time before it", () => {
    const list = [
      deploy({ id: "a", at: T - 40 * MINUTE }),
      deploy({ id: "b", at: T - 10 * MINUTE }),
      deploy({ id: "c", at: T + MINUTE }),
      deploy({ id: "d", service: "other", at: T - MINUTE }),
    ];
    expect(deployBefore(list, "shop", T, 30 * MINUTE)?.id).toBe("b");
    expect(deployBefore(list, "shop", T, 5 * MINUTE)).toBeNull();
    expect(deployBefore(list, "shop", T, 0)).toBeNull();
    expect(deployPhrase(deploy(), T)).toBe("started 4 min after deploy v1.42 of shop");
    expect(deployId("shop", "v1")).toBe(deployId("shop", "v1"));
    expect(deployId("shop", "v1")).not.toBe(deployId("shop", "v2"));
    expect(deployId("shop", "v1")).not.toBe(deployId("shop2", "v1"));
  });
});

describe("versions on records", () => {
  it("a change is the newest record's version when it is newer and different, from its first record", () => {
    const rs = [
      { timestamp: T, version: "a" },
      { timestamp: T + 2, version: "b" },
      { timestamp: T + 1, version: "b" },
      { timestamp: T + 3, version: null },
    ];
    expect(versionChange(rs, null)).toEqual({ version: "b", at: T + 1 });
    expect(versionChange(rs, { version: "a", at: T })).toEqual({ version: "b", at: T + 1 });
    expect(versionChange(rs, { version: "b", at: T })).toBeNull();
    // Late records of an old version after a newer one was seen change nothing.
    expect(versionChange(rs, { version: "c", at: T + 10 })).toBeNull();
    expect(versionChange([{ timestamp: T }], null)).toBeNull();
  });

  it("the proxy reads the origin's version from the configured header only, and only a valid one", () => {
    const h = new Headers({ "x-app-version": " v1.42 ", "x-bad": "v 1", "x-long": "v".repeat(65) });
    expect(originVersion(h, "X-App-Version")).toBe("v1.42");
    expect(originVersion(h, "")).toBeNull();
    expect(originVersion(h, undefined)).toBeNull();
    expect(originVersion(h, "x-missing")).toBeNull();
    expect(originVersion(h, "x-bad")).toBeNull();
    expect(originVersion(h, "x-long")).toBeNull();
    expect(originVersion(h, "bad header name")).toBeNull();
  });
});

describe("reminders and webhook state", () => {
  it("are due every interval after the last alert, for an open CRITICAL only, and never with 0", () => {
    expect(reminderMinutes(undefined)).toBe(240);
    expect(reminderMinutes("")).toBe(240);
    expect(reminderMinutes("0")).toBe(0);
    expect(reminderMinutes("15")).toBe(15);
    expect(reminderMinutes("soon")).toBe(240);
    expect(reminderMinutes("-5")).toBe(240);
    const open = { status: "open", severity: "CRITICAL" };
    expect(nextReminderAt(open, T, 240)).toBe(T + 240 * MINUTE);
    expect(nextReminderAt(open, null, 240)).toBeNull();
    expect(nextReminderAt(open, T, 0)).toBeNull();
    expect(nextReminderAt({ status: "open", severity: "WARNING" }, T, 240)).toBeNull();
    expect(nextReminderAt({ status: "resolved", severity: "CRITICAL" }, T, 240)).toBeNull();
  });

  it("says firing or resolved, and the group (null until grouped)", () => {
    const msg = (event: AlertMessage["event"], incident: Partial<ApiIncident> | null): AlertMessage => ({
      id: "m",
      event,
      timestamp: T,
      incident: incident as ApiIncident | null,
      dashboard_url: null,
    });
    expect(alertState(msg("incident.opened", { status: "open" }))).toEqual({ status: "firing", group: null });
    expect(alertState(msg("incident.reminder", { status: "open" }))).toEqual({ status: "firing", group: null });
    expect(alertState(msg("incident.resolved", { status: "resolved" }))).toEqual({ status: "resolved", group: null });
    expect(alertState(msg("incident.updated", { status: "resolved" }))).toEqual({ status: "resolved", group: null });
    expect(alertState(msg("test", null))).toEqual({ status: "firing", group: null });
    expect(
      alertState(msg("incident.opened", { status: "open", group: { id: "grp_1" } } as Partial<ApiIncident>)),
    ).toEqual({ status: "firing", group: { id: "grp_1" } });
  });
});
