/**
 * Maintenance windows end to end: the API (validation, list, delete), and an outage inside a
 * window: detection keeps running and the incident is recorded, marked in_maintenance, with no
 * alert; still open when the window ends (by its time, or deleted), it is alerted then; resolved
 * inside the window, it is never alerted.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { channel, receivedBodies } from "./alert-helpers";
import { ADMIN_KEY, call, eventually, getJson, inMonitor } from "./helpers";
import { send, traffic } from "./traffic";

const admin = { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" };
const MINUTE = 60_000;
const OUTAGE = [
  { minutes: 60, perMinute: 30 },
  { minutes: 6, perMinute: 30, errorRate: 0.7 },
];

type Window = {
  id: string;
  service: string;
  starts_at: number;
  ends_at: number;
  endpoints: unknown;
  reason: string | null;
  active: boolean;
};
type Incident = {
  id: string;
  status: string;
  severity: string;
  in_maintenance: boolean;
  maintenance_id: string | null;
  maintenance_released_at: number | null;
};

async function openWindow(body: Record<string, unknown>): Promise<Response> {
  return call("/v1/maintenance", { method: "POST", headers: admin, body: JSON.stringify(body) });
}

function stub(service: string) {
  const ns = env.ENDPOINT_MONITOR;
  return ns.get(ns.idFromName(`${service} GET /orders/:id`));
}

async function incidentsOf(service: string): Promise<Incident[]> {
  return (await getJson<{ incidents: Incident[] }>(`/v1/incidents?service=${service}`)).body.incidents;
}

describe("maintenance API", () => {
  it("creates a window from a start and an end, or for N minutes from now, lists and deletes it", async () => {
    const now = Date.now();
    const a = await openWindow({
      service: "mnt-api",
      starts_at: now + 10 * MINUTE,
      ends_at: new Date(now + 70 * MINUTE).toISOString(),
      reason: "db upgrade",
    });
    expect(a.status).toBe(201);
    const first = await a.json<Window>();
    expect(first).toMatchObject({
      service: "mnt-api",
      starts_at: now + 10 * MINUTE,
      reason: "db upgrade",
      endpoints: null,
      active: false,
    });
    expect(first.id).toMatch(/^mnt_/);
    const b = await openWindow({
      service: "mnt-api",
      duration_minutes: 30,
      endpoints: [{ method: "get", route: "/orders/:id" }],
    });
    const second = await b.json<Window>();
    expect(second.active).toBe(true);
    expect(second.ends_at - second.starts_at).toBe(30 * MINUTE);
    expect(second.endpoints).toEqual([{ method: "GET", route: "/orders/:id" }]);
    const listed = await getJson<{ windows: Window[] }>("/v1/maintenance?service=mnt-api");
    expect(listed.body.windows.map((w) => w.id)).toEqual([second.id, first.id]);
    expect((await call(`/v1/maintenance/${first.id}`, { method: "DELETE", headers: admin })).status).toBe(204);
    expect((await call(`/v1/maintenance/${first.id}`, { method: "DELETE", headers: admin })).status).toBe(404);
    expect(
      (await getJson<{ windows: Window[] }>("/v1/maintenance?service=mnt-api")).body.windows.map((w) => w.id),
    ).toEqual([second.id]);
  });

  it("refuses a bad window with a 400 in the error envelope", async () => {
    const now = Date.now();
    const cases: Record<string, unknown>[] = [
      { service: "mnt-bad", starts_at: now + MINUTE, ends_at: now },
      { service: "mnt-bad", ends_at: now - MINUTE, starts_at: now - 2 * MINUTE },
      { service: "mnt-bad" },
      { service: "mnt-bad", duration_minutes: 10, ends_at: now + MINUTE },
      { service: "bad name", duration_minutes: 10 },
      { service: "mnt-bad", duration_minutes: 0 },
      { service: "mnt-bad", duration_minutes: 60 * 24 * 40 },
      { service: "mnt-bad", duration_minutes: 10, endpoints: [{ method: "GET", route: "no-slash" }] },
      { service: "mnt-bad", duration_minutes: 10, extra: true },
    ];
    for (const body of cases) {
      const res = await openWindow(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe("invalid_request");
    }
    const notJson = await call("/v1/maintenance", { method: "POST", headers: admin, body: "{" });
    expect(notJson.status).toBe(400);
    expect((await getJson<{ windows: Window[] }>("/v1/maintenance?service=mnt-bad")).body.windows).toEqual([]);
  });
});

describe("an outage inside a maintenance window", () => {
  it("is recorded and marked, not alerted, and alerted when the window ends while it is still open", async () => {
    await channel("mnt-hook-a", "mnt-a");
    const res = await openWindow({
      service: "mnt-a",
      starts_at: Date.now() - 3 * 60 * MINUTE,
      duration_minutes: 4 * 60,
      reason: "origin migration",
    });
    const window = await res.json<Window>();
    await send(traffic("mnt-a", OUTAGE).records);
    const [incident] = await incidentsOf("mnt-a");
    expect(incident).toMatchObject({
      status: "open",
      severity: "CRITICAL",
      in_maintenance: true,
      maintenance_id: window.id,
      maintenance_released_at: null,
    });
    expect(await receivedBodies("mnt-hook-a")).toEqual([]);
    // Later, still inside the window: still nothing.
    const monitor = stub("mnt-a");
    await inMonitor(monitor, (m) => m.jobs.followUp.followUp(window.ends_at - MINUTE));
    await inMonitor(monitor, (m) => m.outbox.run(window.ends_at - MINUTE));
    expect(await receivedBodies("mnt-hook-a")).toEqual([]);
    // The window ends with the incident still open: it is alerted then, once.
    const end = window.ends_at + 1000;
    await inMonitor(monitor, (m) => m.jobs.followUp.followUp(end));
    await runDurableObjectAlarm(monitor);
    await inMonitor(monitor, (m) => m.outbox.run(end));
    await inMonitor(monitor, (m) => m.jobs.followUp.followUp(end + MINUTE));
    await inMonitor(monitor, (m) => m.outbox.run(end + MINUTE));
    const got = await receivedBodies("mnt-hook-a");
    expect(got.map((m) => [m.type, m.status, m.group, m.data.id, m.data.in_maintenance])).toEqual([
      ["incident.opened", "firing", null, incident?.id, true],
    ]);
    const [after] = await incidentsOf("mnt-a");
    expect(after?.maintenance_released_at).toBe(end);
  });

  it("is alerted at once when the window is deleted while the incident is open", async () => {
    await channel("mnt-hook-b", "mnt-b");
    const window = await (
      await openWindow({ service: "mnt-b", starts_at: Date.now() - 3 * 60 * MINUTE, duration_minutes: 4 * 60 })
    ).json<Window>();
    await send(traffic("mnt-b", OUTAGE).records);
    expect((await incidentsOf("mnt-b"))[0]?.in_maintenance).toBe(true);
    expect(await receivedBodies("mnt-hook-b")).toEqual([]);
    // Deleting tells the endpoint's object (it published its state), which reads the windows again.
    expect((await call(`/v1/maintenance/${window.id}`, { method: "DELETE", headers: admin })).status).toBe(204);
    await runDurableObjectAlarm(stub("mnt-b"));
    // The alarm hands the alert to the queue; its consumer sends it.
    await eventually(async () => (await receivedBodies("mnt-hook-b")).length >= 1, 20_000);
    expect((await receivedBodies("mnt-hook-b")).map((m) => m.type)).toEqual(["incident.opened"]);
  });

  it("never alerts an incident that resolved inside the window; a window of another endpoint silences nothing here", async () => {
    await channel("mnt-hook-c", "mnt-c");
    const window = await (
      await openWindow({ service: "mnt-c", starts_at: Date.now() - 3 * 60 * MINUTE, duration_minutes: 4 * 60 })
    ).json<Window>();
    // (The outage and recovery of test/detection.test.ts, which resolves.)
    const outageAndRecovery = [
      { minutes: 90, perMinute: 60 },
      { minutes: 8, perMinute: 60, errorRate: 0.7 },
      { minutes: 80, perMinute: 60 },
    ];
    await send(traffic("mnt-c", outageAndRecovery).records);
    const [incident] = await incidentsOf("mnt-c");
    expect(incident).toMatchObject({ status: "resolved", in_maintenance: true });
    await inMonitor(stub("mnt-c"), (m) => m.jobs.followUp.followUp(window.ends_at + 1000));
    await inMonitor(stub("mnt-c"), (m) => m.outbox.run(window.ends_at + 1000));
    expect(await receivedBodies("mnt-hook-c")).toEqual([]);

    await channel("mnt-hook-d", "mnt-d");
    await openWindow({
      service: "mnt-d",
      starts_at: Date.now() - 3 * 60 * MINUTE,
      duration_minutes: 4 * 60,
      endpoints: [{ method: "GET", route: "/other" }],
    });
    await send(traffic("mnt-d", OUTAGE).records);
    expect((await incidentsOf("mnt-d"))[0]?.in_maintenance).toBe(false);
    await eventually(async () => (await receivedBodies("mnt-hook-d")).length >= 2, 20_000);
    expect((await receivedBodies("mnt-hook-d")).map((m) => m.type)).toEqual(["incident.opened", "incident.escalated"]);
  });
});
