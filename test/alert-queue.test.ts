/**
 * Alerts delivered outside the endpoint object's alarm: with the ALERTS_QUEUE binding the alarm
 * fans out and hands the endpoint to the queue, and the Worker's queue() handler claims, sends
 * and reports (src/alerts/queue-consumer.ts). Queues deliver at least once: a redelivered
 * hand-off, even one running beside the first, sends each message once. The IncidentGroups
 * objects hand their group alerts to the same queue (`{kind: "group", key, messages, lease_until}`).
 */
import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliverHandOff, type AlertHandOff } from "../src/alerts/queue-consumer";
import { IncidentGroups } from "../src/incidents/group-object";
import { runAlerts } from "../src/monitor/alerts-handoff";
import { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import type { MonitorContext } from "../src/monitor/monitor-context";
import worker from "../src/index";
import { channel, receivedTypes } from "./alert-helpers";
import { eventually, flushAll, getJson, inMonitor } from "./helpers";
import { send, traffic } from "./traffic";

const OUTAGE = [
  { minutes: 60, perMinute: 30 },
  { minutes: 6, perMinute: 30, errorRate: 0.7 },
];
type Delivery = { message_id: string; event: string; attempt: number; status: string };

const endpoint = (service: string) => `${service} GET /orders/:id`;
const stub = (service: string) => env.ENDPOINT_MONITOR.getByName(endpoint(service));

describe("alerts through the queue", () => {
  it("the alarm hands the alerts to the queue and its consumer delivers them", { timeout: 60_000 }, async () => {
    expect(env.ALERTS_QUEUE).toBeDefined();
    const id = await channel("aq-hook-a", "aq-a");
    await send(traffic("aq-a", OUTAGE).records);
    await flushAll();
    // The consumer runs after the queue's batch timeout, outside the alarm.
    await eventually(async () => (await receivedTypes("aq-hook-a")).length >= 2, 20_000);
    expect(await receivedTypes("aq-hook-a")).toEqual(["incident.opened", "incident.escalated"]);
    // The consumer reports after its sends: the attempts reach D1 a moment after the receiver.
    const deliveries = async () =>
      (await getJson<{ deliveries: Delivery[] }>(`/v1/alert-deliveries?channel_id=${id}`)).body.deliveries;
    await eventually(async () => (await deliveries()).length >= 2, 10_000);
    expect((await deliveries()).map((d) => [d.event, d.attempt, d.status]).sort()).toEqual([
      ["incident.escalated", 1, "delivered"],
      ["incident.opened", 1, "delivered"],
    ]);
  });

  it("a redelivered hand-off, even beside the first, sends once", { timeout: 60_000 }, async () => {
    await channel("aq-hook-b", "aq-b");
    await send(traffic("aq-b", OUTAGE).records);
    await flushAll();
    await eventually(async () => (await receivedTypes("aq-hook-b")).length >= 2, 20_000);
    // A reminder fanned out inside the object and leased to one hand-off (what the alarm does).
    const handOff = await inMonitor(stub("aq-b"), async (m) => {
      const incident = m.detection.incidents(1)[0];
      if (!incident) throw new Error("no incident");
      const now = Date.now();
      m.outbox.enqueue({ ...incident, incident_id: incident.id, event: "incident.reminder" }, now);
      const p = await m.outbox.prepare(now, () => undefined);
      // A later alarm within the lease hands nothing off again (the consumer may still be waiting for AI).
      const later = await m.outbox.prepare(now + 1_000, () => undefined);
      return { ids: p.ids, lease_until: p.leaseUntil, later: later.ids };
    });
    expect(handOff.ids).toHaveLength(1);
    expect(handOff.later).toEqual([]);
    const body: AlertHandOff = {
      endpoint: endpoint("aq-b"),
      summarize: [],
      messages: handOff.ids,
      lease_until: handOff.lease_until,
    };
    const batch = (attempts: number) =>
      createMessageBatch<AlertHandOff>("edge-monitor-alerts", [
        { id: "aq-msg", timestamp: new Date(), attempts, body },
      ]);
    const [first, again, later] = [batch(1), batch(2), batch(3)];
    // The first delivery and its redelivery at once, then one more after both.
    await Promise.all([worker.queue(first, env), worker.queue(again, env)]);
    await worker.queue(later, env);
    for (const b of [first, again, later]) {
      const result = await getQueueResult(b, createExecutionContext());
      expect(result.explicitAcks).toEqual(["aq-msg"]);
    }
    expect(await receivedTypes("aq-hook-b")).toEqual(["incident.opened", "incident.escalated", "incident.reminder"]);
    // Nothing left to claim: the reminder was recorded once, as delivered.
    expect(await inMonitor(stub("aq-b"), (m) => m.outbox.claim(handOff.ids, handOff.lease_until))).toEqual([]);
  });

  it("a claim late in its lease sends nothing and gives its messages back at once", { timeout: 60_000 }, async () => {
    await channel("aq-hook-late", "aq-late");
    await send(traffic("aq-late", OUTAGE).records);
    await flushAll();
    await eventually(async () => (await receivedTypes("aq-hook-late")).length >= 2, 20_000);
    // A hand-off leased 50 s ago reaches the consumer with 10 s of its lease left: less than a send may take.
    const handOff = await inMonitor(stub("aq-late"), async (m) => {
      const incident = m.detection.incidents(1)[0];
      if (!incident) throw new Error("no incident");
      const t = Date.now() - 50_000;
      m.outbox.enqueue({ ...incident, incident_id: incident.id, event: "incident.reminder" }, t);
      const p = await m.outbox.prepare(t, () => undefined);
      return { messages: p.ids, lease_until: p.leaseUntil };
    });
    expect(handOff.messages).toHaveLength(1);
    const body: AlertHandOff = { endpoint: endpoint("aq-late"), summarize: [], ...handOff };
    expect(await deliverHandOff(env, body, false)).toBe(1);
    expect(await receivedTypes("aq-hook-late")).toEqual(["incident.opened", "incident.escalated"]);
    // Reported not ready: due again within seconds (not at the lease's end), and claimable by the next hand-off.
    const next = await inMonitor(stub("aq-late"), (m) => m.outbox.nextWake());
    expect(next).not.toBeNull();
    expect(next ?? Infinity).toBeLessThan(Date.now() + 10_000);
  });

  it("a message handed off twice and never reported is sent by the alarm itself", { timeout: 60_000 }, async () => {
    await channel("aq-hook-c", "aq-c");
    await send(traffic("aq-c", OUTAGE).records);
    await flushAll();
    await eventually(async () => (await receivedTypes("aq-hook-c")).length >= 2, 20_000);
    const steps = await inMonitor(stub("aq-c"), async (m) => {
      const incident = m.detection.incidents(1)[0];
      if (!incident) throw new Error("no incident");
      const t0 = Date.now();
      m.outbox.enqueue({ ...incident, incident_id: incident.id, event: "incident.reminder" }, t0);
      // Two hand-offs whose consumer never answers (each lease runs out), then the third time is stale.
      const first = await m.outbox.prepare(t0, () => undefined);
      // Claimed and never reported (the consumer ran out of time): the next hand-off can claim it again.
      const claimedFirst = await m.outbox.claim(first.ids, first.leaseUntil);
      const second = await m.outbox.prepare(first.leaseUntil, () => undefined);
      const claimedSecond = await m.outbox.claim(second.ids, second.leaseUntil);
      const third = await m.outbox.prepare(second.leaseUntil, () => undefined);
      return {
        first: first.ids.length,
        claims: [claimedFirst.length, claimedSecond.length],
        second: second.ids.length,
        stale: third.stale,
        ids: third.ids,
      };
    });
    expect(steps).toEqual({ first: 1, claims: [1, 1], second: 1, stale: true, ids: [] });
    // The alarm's step then sends it from the object (the queue accepts, but nobody consumes).
    await inMonitor(stub("aq-c"), (m) => m.outbox.run(Date.now() + 200_000));
    expect(await receivedTypes("aq-hook-c")).toEqual(["incident.opened", "incident.escalated", "incident.reminder"]);
  });

  it(
    "a group's alarm hands its alerts to the queue; a redelivered group hand-off sends once",
    { timeout: 60_000 },
    async () => {
      const id = await channel("aq-hook-g", "aq-g");
      const groups = env.INCIDENT_GROUPS.getByName("aq-g");
      const now = Date.now();
      const member = (n: number, severity: "WARNING" | "CRITICAL") => ({
        incident_id: `inc_aqg_${n}`,
        service: "aq-g",
        method: "GET",
        route: `/r${n}`,
        severity,
        status: "open" as const,
        opened_at: now,
        resolved_at: null,
        signal_kinds: ["error_rate_threshold"],
      });
      // The lead incident a group alert carries is read from D1, as the endpoint objects publish it.
      await env.DB.prepare(
        `INSERT INTO incidents (id, service, method, route, severity, status, opened_at, resolved_at, last_event_at, severity_score, health_score, action, signals, figures, explanation, updated_at)
       VALUES ('inc_aqg_1', 'aq-g', 'GET', '/r1', 'WARNING', 'open', ?, NULL, ?, 0.5, 50, 'CONTINUE', '[]', '{}', 'x', ?)`,
      )
        .bind(now, now, now)
        .run();
      await groups.memberOpened(member(1, "WARNING"), now);
      await groups.memberOpened(member(2, "WARNING"), now);
      expect(await runDurableObjectAlarm(groups)).toBe(true);
      // Before: the alarm sent the group's opening itself; now the queue's consumer does, after the alarm.
      expect(await receivedTypes("aq-hook-g")).toEqual([]);
      await eventually(async () => (await receivedTypes("aq-hook-g")).length >= 1, 20_000);
      expect(await receivedTypes("aq-hook-g")).toEqual(["incident.opened"]);

      // A CRITICAL member escalates the group; the alarm's step (its own alarm cancelled, the hand-off
      // kept instead of queued) leases the escalation to one hand-off and sends nothing itself.
      await groups.memberOpened(member(3, "CRITICAL"));
      const handed = await runInDurableObject(groups, async (g: IncidentGroups, state) => {
        await state.storage.deleteAlarm();
        const out: AlertHandOff[] = [];
        const held = {
          send: async (body: AlertHandOff) => {
            out.push(body);
          },
        } as unknown as Queue<AlertHandOff>;
        await g.settleAt(Date.now(), held);
        return out;
      });
      expect(handed).toEqual([
        { kind: "group", key: "aq-g", messages: [expect.any(String)], lease_until: expect.any(Number) },
      ]);
      expect(await receivedTypes("aq-hook-g")).toEqual(["incident.opened"]);
      const [body] = handed;
      if (!body) throw new Error("no hand-off");
      // The same hand-off delivered three times (two of them at once).
      const batch = (attempts: number) =>
        createMessageBatch<AlertHandOff>("edge-monitor-alerts", [
          { id: "aq-msg-g", timestamp: new Date(), attempts, body },
        ]);
      const [first, again, later] = [batch(1), batch(2), batch(3)];
      await Promise.all([worker.queue(first, env), worker.queue(again, env)]);
      await worker.queue(later, env);
      for (const b of [first, again, later])
        expect((await getQueueResult(b, createExecutionContext())).explicitAcks).toEqual(["aq-msg-g"]);
      expect(await receivedTypes("aq-hook-g")).toEqual(["incident.opened", "incident.escalated"]);
      const deliveries = async () =>
        (await getJson<{ deliveries: Delivery[] }>(`/v1/alert-deliveries?channel_id=${id}`)).body.deliveries;
      await eventually(async () => (await deliveries()).length >= 2, 10_000);
      expect((await deliveries()).map((d) => [d.event, d.attempt, d.status]).sort()).toEqual([
        ["incident.escalated", 1, "delivered"],
        ["incident.opened", 1, "delivered"],
      ]);
    },
  );

  it("a group hand-off the queue refuses is released and sent by the alarm itself", { timeout: 60_000 }, async () => {
    await channel("aq-hook-r", "aq-r");
    const groups = env.INCIDENT_GROUPS.getByName("aq-r");
    const now = Date.now();
    const member = (n: number) => ({
      incident_id: `inc_aqr_${n}`,
      service: "aq-r",
      method: "GET",
      route: `/r${n}`,
      severity: "WARNING" as const,
      status: "open" as const,
      opened_at: now,
      resolved_at: null,
      signal_kinds: ["error_rate_threshold"],
    });
    await env.DB.prepare(
      `INSERT INTO incidents (id, service, method, route, severity, status, opened_at, resolved_at, last_event_at, severity_score, health_score, action, signals, figures, explanation, updated_at)
       VALUES ('inc_aqr_1', 'aq-r', 'GET', '/r1', 'WARNING', 'open', ?, NULL, ?, 0.5, 50, 'CONTINUE', '[]', '{}', 'x', ?)`,
    )
      .bind(now, now, now)
      .run();
    await groups.memberOpened(member(1), now);
    await groups.memberOpened(member(2), now);
    // A queue that refuses every send (an outage of Queues cannot be produced here).
    const tried = await runInDurableObject(groups, async (g: IncidentGroups, state) => {
      await state.storage.deleteAlarm();
      let sends = 0;
      const refusing = {
        send: async () => {
          sends++;
          throw new Error("queue unavailable");
        },
      } as unknown as Queue<AlertHandOff>;
      await g.settleAt(Date.now(), refusing);
      return sends;
    });
    expect(tried).toBe(1);
    // Sent from inside the object, at once: nothing waits for the lease to end.
    expect(await receivedTypes("aq-hook-r")).toEqual(["incident.opened"]);
  });

  it(
    "a group's alarm without the object's name (evicted first, workerd#6850) still hands off",
    { timeout: 60_000 },
    async () => {
      await channel("aq-hook-n", "aq-n");
      const groups = env.INCIDENT_GROUPS.getByName("aq-n");
      const now = Date.now();
      const member = (n: number) => ({
        incident_id: `inc_aqn_${n}`,
        service: "aq-n",
        method: "GET",
        route: `/r${n}`,
        severity: "WARNING" as const,
        status: "open" as const,
        opened_at: now,
        resolved_at: null,
        signal_kinds: ["error_rate_threshold"],
      });
      await env.DB.prepare(
        `INSERT INTO incidents (id, service, method, route, severity, status, opened_at, resolved_at, last_event_at, severity_score, health_score, action, signals, figures, explanation, updated_at)
       VALUES ('inc_aqn_1', 'aq-n', 'GET', '/r1', 'WARNING', 'open', ?, NULL, ?, 0.5, 50, 'CONTINUE', '[]', '{}', 'x', ?)`,
      )
        .bind(now, now, now)
        .run();
      // Reached by name: the object stores its key when it first wakes.
      await groups.memberOpened(member(1), now);
      await groups.memberOpened(member(2), now);
      const handed = await runInDurableObject(groups, async (_g: IncidentGroups, state) => {
        await state.storage.deleteAlarm();
        // The object as an alarm after an eviction builds it: a new instance whose id has no name.
        const name = state.id.name;
        Object.defineProperty(state.id, "name", { value: undefined, configurable: true });
        try {
          const woken = new IncidentGroups(state, env);
          const out: AlertHandOff[] = [];
          const held = {
            send: async (body: AlertHandOff) => {
              out.push(body);
            },
          } as unknown as Queue<AlertHandOff>;
          await woken.settleAt(Date.now(), held);
          return out;
        } finally {
          Object.defineProperty(state.id, "name", { value: name, configurable: true });
        }
      });
      // Before: no name, no hand-off; the alarm sent the opening itself.
      expect(handed).toEqual([
        { kind: "group", key: "aq-n", messages: [expect.any(String)], lease_until: expect.any(Number) },
      ]);
      expect(await receivedTypes("aq-hook-n")).toEqual([]);
    },
  );

  it(
    "an endpoint's alarm without the object's name (evicted first, workerd#6850) still hands off",
    { timeout: 60_000 },
    async () => {
      await channel("aq-hook-en", "aq-en");
      await send(traffic("aq-en", OUTAGE).records);
      await flushAll();
      await eventually(async () => (await receivedTypes("aq-hook-en")).length >= 2, 20_000);
      const handed = await runInDurableObject(stub("aq-en"), async (m: EndpointMonitor, state) => {
        await state.storage.deleteAlarm();
        // A reminder due now, and the object as an alarm after an eviction builds it: no name on its id.
        const incident = m.detection.incidents(1)[0];
        if (!incident) throw new Error("no incident");
        m.outbox.enqueue({ ...incident, incident_id: incident.id, event: "incident.reminder" }, Date.now());
        const name = state.id.name;
        Object.defineProperty(state.id, "name", { value: undefined, configurable: true });
        try {
          const out: AlertHandOff[] = [];
          const held = {
            send: async (body: AlertHandOff) => {
              out.push(body);
            },
          } as unknown as Queue<AlertHandOff>;
          const woken = new EndpointMonitor(state, { ...env, ALERTS_QUEUE: held });
          await runAlerts((woken as unknown as { c: MonitorContext }).c, Date.now());
          return out;
        } finally {
          Object.defineProperty(state.id, "name", { value: name, configurable: true });
        }
      });
      // Before: no name, no hand-off; the alarm sent the reminder itself.
      expect(handed).toEqual([
        { endpoint: endpoint("aq-en"), summarize: [], messages: [expect.any(String)], lease_until: expect.any(Number) },
      ]);
      expect(await receivedTypes("aq-hook-en")).toEqual(["incident.opened", "incident.escalated"]);
    },
  );
});
