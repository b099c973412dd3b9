/**
 * JSON the objects keep in their storage, parsed with zod (src/lib/stored-schema.ts): what the code
 * really stores (incidents and the endpoint state over an open / update / resolve / re-open, groups
 * over a group's life) parses back to exactly what was stored, and a row that does not parse
 * harms nothing else (incidents and groups left out, the endpoint state dropped, a bucket reset).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { IncidentSchema } from "../src/detect/incident-schema";
import { IncidentGroupSchema } from "../src/incidents/group-schema";
import type { IncidentGroups } from "../src/incidents/group-object";
import type { MemberInput } from "../src/incidents/group-types";
import { EndpointStateSchema } from "../src/monitor/endpoint-state-schema";
import type { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import type { ServiceRegistry } from "../src/monitor/service-registry";
import { endpointStub, publishAt } from "./helpers";
import { send, traffic } from "./traffic";

/** Every stored value's text, parsed as JSON and by its schema. */
function roundTrip(schema: { parse(v: unknown): unknown }, texts: string[]): void {
  for (const text of texts) expect(schema.parse(JSON.parse(text))).toEqual(JSON.parse(text));
}

const bodies = (stub: DurableObjectStub<EndpointMonitor>) =>
  runInDurableObject(stub, (_m: EndpointMonitor, state) => ({
    incidents: state.storage.sql
      .exec<{ body: string }>("SELECT body FROM incidents")
      .toArray()
      .map((r) => r.body),
    state: state.storage.sql
      .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'endpoint_state'")
      .toArray()
      .map((r) => r.value),
  }));

const exec = (stub: DurableObjectStub<EndpointMonitor>, sql: string, ...args: (string | number)[]) =>
  runInDurableObject(stub, (_m: EndpointMonitor, state) => state.storage.sql.exec(sql, ...args).toArray());

describe("an endpoint's incidents and state as stored", () => {
  const service = "stored-rows";
  const stub = endpointStub(service, "GET", "/orders/:id");

  it("parse back to what was stored at each change: opened, updated, resolved, re-opened", async () => {
    const phases = [
      { minutes: 90, perMinute: 60 },
      { minutes: 5, perMinute: 60, errorRate: 0.12 },
      { minutes: 90, perMinute: 60 },
      { minutes: 5, perMinute: 60, errorRate: 0.12 },
      { minutes: 20, perMinute: 60 },
    ];
    const { records, phaseStarts } = traffic(service, phases);
    const seen = new Set<string>();
    for (let p = 0; p < phases.length; p++) {
      const from = phaseStarts[p] ?? 0;
      const to = phaseStarts[p + 1] ?? Infinity;
      await send(records.filter((r) => Number(r.timestamp) >= from && Number(r.timestamp) < to));
      const stored = await bodies(stub);
      roundTrip(IncidentSchema, stored.incidents);
      roundTrip(EndpointStateSchema, stored.state);
      for (const body of stored.incidents) {
        const i = IncidentSchema.parse(JSON.parse(body));
        seen.add(i.status);
        for (const e of i.timeline ?? []) seen.add(e.change);
      }
    }
    expect([...seen].sort()).toEqual(["open", "opened", "reopened", "resolved"]);
  });

  it("a stored incident that does not parse is left out; the others still reach D1", async () => {
    const [real] = (await stub.detail()).incidents;
    expect(real).toBeDefined();
    const id = real?.id ?? "";
    await env.DB.prepare("UPDATE incidents SET explanation = 'stale' WHERE id = ?").bind(id).run();
    await exec(stub, "UPDATE incidents SET dirty = 1 WHERE id = ?", id);
    await exec(stub, "INSERT INTO incidents (id, status, body, dirty) VALUES ('inc_zzbad', 'open', '{\"id\":1', 1)");
    await exec(
      stub,
      "INSERT INTO incidents (id, status, body, dirty) VALUES ('inc_zzodd', 'open', '{\"id\":\"x\"}', 1)",
    );
    expect(await publishAt(stub, Date.now())).toBe(true);
    const d1 = await env.DB.prepare("SELECT explanation FROM incidents WHERE id = ?")
      .bind(id)
      .first<{ explanation: string }>();
    expect(d1?.explanation).toBe(real?.explanation);
    // Held apart (dirty = 2): never copied, and not pruned once resolved (a bad row is kept for inspection).
    expect(await exec(stub, "SELECT id, dirty FROM incidents WHERE id LIKE 'inc_zz%' ORDER BY id")).toEqual([
      { id: "inc_zzbad", dirty: 2 },
      { id: "inc_zzodd", dirty: 2 },
    ]);
    const stats = await stub.detail();
    expect(stats.incidents.map((i) => i.id)).toEqual([id]);
  });

  it("a stored state that does not parse is dropped, and the next evaluation stores a fresh one", async () => {
    await exec(stub, "UPDATE meta SET value = '{\"service\":1}' WHERE key = 'endpoint_state'");
    await exec(stub, "UPDATE meta SET value = '1' WHERE key = 'state_dirty'");
    await exec(stub, "UPDATE meta SET value = 'not json' WHERE key = 'published'");
    expect(await publishAt(stub, Date.now())).toBe(true);
    expect((await stub.detail()).state).toBeNull();
    expect(await exec(stub, "SELECT value FROM meta WHERE key IN ('endpoint_state', 'state_dirty')")).toEqual([
      { value: "0" },
    ]);
    const { records } = traffic(service, [{ minutes: 3, perMinute: 60 }], { seed: 9, endsAgo: 0 });
    await send(records);
    const state = (await stub.detail()).state;
    expect(state?.service).toBe(service);
    roundTrip(EndpointStateSchema, (await bodies(stub)).state);
  });
});

describe("the published mark", () => {
  it("keeps its cost when another part of it does not parse", async () => {
    const stub = endpointStub("stored-published", "GET", "/orders/:id");
    await send(traffic("stored-published", [{ minutes: 2, perMinute: 10 }], { seed: 3, endsAgo: 0 }).records);
    const cost = (mark: string) =>
      runInDurableObject(stub, (m: EndpointMonitor, state) => {
        state.storage.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('published', ?)", mark);
        return m.detection.publishedCost();
      });
    expect(await cost(JSON.stringify({ backlog: 5, cost: { worker_requests: 123 } }))).toEqual({
      worker_requests: 123,
    });
    expect(await cost("not json")).toBeNull();
  });
});

describe("an incident group as stored", () => {
  const service = "stored-groups";
  const member = (n: number, over: Partial<MemberInput> = {}): MemberInput => ({
    incident_id: `inc_sg_${n}`,
    service,
    method: "GET",
    route: `/r${n}`,
    severity: "WARNING",
    status: "open",
    opened_at: Date.now(),
    resolved_at: null,
    signal_kinds: ["error_rate_threshold"],
    ...over,
  });
  const groups = env.INCIDENT_GROUPS.getByName(service);
  const rows = () =>
    runInDurableObject(groups, (_g: IncidentGroups, state) =>
      state.storage.sql
        .exec<{ id: string; body: string; dirty: number }>("SELECT id, body, dirty FROM groups")
        .toArray(),
    );

  it("parses back to what was stored as members open, escalate and resolve", async () => {
    const now = Date.now();
    await groups.memberOpened(member(1), now);
    roundTrip(
      IncidentGroupSchema,
      (await rows()).map((r) => r.body),
    );
    await groups.memberOpened(member(2), now + 1000);
    await groups.routeMemberAlert(member(2, { severity: "CRITICAL" }), "incident.escalated", now + 2000);
    roundTrip(
      IncidentGroupSchema,
      (await rows()).map((r) => r.body),
    );
    await groups.routeMemberAlert(
      member(1, { status: "resolved", resolved_at: now + 3000 }),
      "incident.resolved",
      now + 3000,
    );
    await groups.routeMemberAlert(
      member(2, { status: "resolved", resolved_at: now + 4000 }),
      "incident.resolved",
      now + 4000,
    );
    const stored = await rows();
    expect(
      stored.map((r) => {
        const g = IncidentGroupSchema.parse(JSON.parse(r.body));
        return [g.status, g.members.length];
      }),
    ).toEqual([["resolved", 2]]);
    roundTrip(
      IncidentGroupSchema,
      stored.map((r) => r.body),
    );
  });

  it("a stored group that does not parse is read as no group and never published; others work", async () => {
    const now = Date.now();
    await runInDurableObject(groups, (_g: IncidentGroups, state) => {
      state.storage.sql.exec(
        "INSERT INTO groups (id, status, body, dirty, updated_at) VALUES ('grp_bad', 'open', '{\"id\":\"grp_bad\",\"members\":7}', 1, ?)",
        now + 10_000,
      );
      state.storage.sql.exec("INSERT INTO members (incident_id, group_id) VALUES ('inc_sg_bad', 'grp_bad')");
    });
    expect(await groups.hasMember("inc_sg_bad")).toBe(false);
    const id = await groups.memberOpened(member(3), now);
    expect(id).not.toBe("grp_bad");
    expect(await groups.hasMember("inc_sg_3")).toBe(true);
    await runInDurableObject(groups, (g: IncidentGroups) => g.settleAt(now));
    const bad = (await rows()).find((r) => r.id === "grp_bad");
    expect(bad).toEqual({ id: "grp_bad", body: '{"id":"grp_bad","members":7}', dirty: 0 });
  });
});

describe("a service registry's token bucket as stored", () => {
  it("is reset when it does not parse, and admission goes on", async () => {
    const registry = env.SERVICE_REGISTRY.getByName("stored-bucket");
    const settings = { maxRoutes: 10, ttlMs: 86_400_000, ratePerHour: 1, burst: 2 };
    await runInDurableObject(registry, (_r: ServiceRegistry, state) => {
      state.storage.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('bucket', '{\"tokens\":\"lots\"}')");
    });
    const ask = (route: string) => ({ route, vouched: false, exists: true });
    const out = await registry.decide([ask("/a"), ask("/b"), ask("/c")], settings);
    expect(out.routes).toEqual({ "/a": "/a", "/b": "/b", "/c": "/:other" });
    expect(out.rate_limited).toBe(true);
  });
});
