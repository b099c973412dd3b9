/**
 * The Durable Objects' RPC surface is what production calls, nothing more: a method on a class's
 * prototype is callable by anything holding a stub, so a test-only seam (a flush, an outbox run or
 * a publish at a clock of the test's choosing) must not be one. Tests reach the jobs, which are
 * fields (RPC does not expose instance fields), through runInDurableObject (test/helpers.ts
 * inMonitor). A new method has to be added to these lists on purpose.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { IncidentGroups } from "../src/incidents/group-object";
import { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import { ServiceRegistry } from "../src/monitor/service-registry";
import { endpointStub, inMonitor } from "./helpers";

/** The names on a class's prototype (what a stub can call), constructor aside, sorted. */
function prototypeMethods(cls: { prototype: object }): string[] {
  return Object.getOwnPropertyNames(cls.prototype)
    .filter((name) => name !== "constructor")
    .sort();
}

/** Each method the Worker calls over RPC, and who calls it (grep src/ for `.<name>(`). */
const ENDPOINT_MONITOR_RPC = {
  ingest: "ingest/handoff.ts",
  alarm: "the runtime",
  invalidateContext: "monitor/notify.ts",
  announceUpdate: "incidents/routes.ts",
  claimAlerts: "alerts/queue-consumer.ts",
  reportAlerts: "alerts/queue-consumer.ts",
  quarantined: "control/quarantine.ts",
  replayQuarantine: "control/quarantine.ts",
  reevaluate: "control/reevaluate.ts",
  detail: "monitor/routes.ts",
  breakdown: "monitor/routes.ts",
  groupHours: "breakdown/summaries.ts",
  series: "timeseries/routes.ts",
  // Read-only views (no clock, no side effect but the request count): tests and operators.
  stats: "read-only view",
  cost: "read-only view",
};

const INCIDENT_GROUPS_RPC = {
  memberOpened: "monitor/group-link.ts",
  routeMemberAlert: "monitor/group-link.ts",
  hasMember: "monitor/group-link.ts",
  claimAlerts: "alerts/queue-consumer.ts",
  reportAlerts: "alerts/queue-consumer.ts",
  groupOf: "read-only view",
  alarm: "the runtime",
};
/** TypeScript `private` methods are ordinary prototype methods at run time (not `#private`). */
const INCIDENT_GROUPS_PRIVATE = [
  "commit",
  "enqueue",
  "join",
  "wake",
  "alarmBy",
  "reconcile",
  "settle",
  "publish",
  "groupIncident",
];

const SERVICE_REGISTRY_RPC = {
  decide: "ingest/handoff.ts",
  admitServices: "ingest/caps.ts",
  noteCap: "ingest/caps.ts",
  caps: "ingest/caps.ts",
  list: "read-only view",
};
const SERVICE_REGISTRY_PRIVATE = ["migrate", "loadBucket"];

/** Calls `name` on a stub as a caller holding it could, whatever the stub's type says. */
function callOverRpc(stub: object, name: string, ...args: unknown[]): Promise<unknown> {
  const method = (stub as Partial<Record<string, (...a: unknown[]) => Promise<unknown>>>)[name];
  return Promise.resolve().then(() => (method ? method(...args) : Promise.reject(new Error(`no ${name}`))));
}

describe("Durable Object RPC surface", () => {
  it("EndpointMonitor exposes only the methods production calls", () => {
    expect(prototypeMethods(EndpointMonitor)).toEqual(Object.keys(ENDPOINT_MONITOR_RPC).sort());
  });

  it("IncidentGroups and ServiceRegistry expose no test-only method", () => {
    expect(prototypeMethods(IncidentGroups)).toEqual(
      [...Object.keys(INCIDENT_GROUPS_RPC), ...INCIDENT_GROUPS_PRIVATE].sort(),
    );
    expect(prototypeMethods(ServiceRegistry)).toEqual(
      [...Object.keys(SERVICE_REGISTRY_RPC), ...SERVICE_REGISTRY_PRIVATE].sort(),
    );
  });

  it("a stub cannot run the jobs at a clock of its choosing; a test inside the object can", async () => {
    const stub = endpointStub("rpc-surface", "GET", "/items");
    const later = Date.now() + 3_600_000;
    for (const seam of [
      "flushDue",
      "flushesPerMinute",
      "pruneBuffer",
      "persistWindowsNow",
      "closeSilentMinutes",
      "followUp",
      "deliverAlerts",
      "publish",
    ]) {
      await expect(callOverRpc(stub, seam, later), seam).rejects.toThrow();
    }
    // The fields that hold the jobs are not reachable over RPC either.
    await expect(callOverRpc(stub, "jobs")).rejects.toThrow();
    const groups = env.INCIDENT_GROUPS.get(env.INCIDENT_GROUPS.idFromName("rpc-surface"));
    await expect(callOverRpc(groups, "deliverAlerts", later)).rejects.toThrow();
    const registry = env.SERVICE_REGISTRY.get(env.SERVICE_REGISTRY.idFromName("rpc-surface"));
    await expect(callOverRpc(registry, "admit", ["/a"], 5)).rejects.toThrow();
    // Inside the object the same jobs run at the test's clock.
    expect(await inMonitor(stub, (m) => m.flush.flushDue(later))).toEqual({
      ok: true,
      resumeAt: expect.any(Number) as number,
    });
    expect(await inMonitor(stub, (m) => m.outbox.run(later))).toBeNull();
  });
});
