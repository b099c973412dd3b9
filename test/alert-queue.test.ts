/**
 * Alerts delivered outside the endpoint object's alarm: with the ALERTS_QUEUE binding the alarm
 * fans out and hands the endpoint to the queue, and the Worker's queue() handler claims, sends
 * and reports (src/alerts/queue-consumer.ts). Queues deliver at least once: a redelivered
 * hand-off, even one running beside the first, sends each message once.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AlertHandOff } from "../src/alerts/queue-consumer";
import worker from "../src/index";
import { ADMIN_KEY, call, eventually, flushAll, getJson, inMonitor } from "./helpers";
import { send, traffic } from "./traffic";

const SECRET = `whsec_${btoa("0123456789abcdef0123456789abcdef")}`;
const admin = { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" };
const OUTAGE = [
  { minutes: 60, perMinute: 30 },
  { minutes: 6, perMinute: 30, errorRate: 0.7 },
];
type Received = { headers: Record<string, string>; body: string };
type Delivery = { message_id: string; event: string; attempt: number; status: string };

async function channel(name: string, service: string): Promise<string> {
  const res = await call("/v1/alert-channels", {
    method: "POST",
    headers: admin,
    body: JSON.stringify({
      type: "webhook",
      name,
      url: `http://127.0.0.1/hooks/${name}`,
      secret: SECRET,
      services: [service],
    }),
  });
  expect(res.status).toBe(201);
  return (await res.json<{ id: string }>()).id;
}

async function received(name: string): Promise<string[]> {
  const res = await env.ORIGIN.fetch(new Request(`http://origin.test/hooks/${name}`));
  return (await res.json<Received[]>()).map((r) => (JSON.parse(r.body) as { type: string }).type);
}

const endpoint = (service: string) => `${service} GET /orders/:id`;
const stub = (service: string) => env.ENDPOINT_MONITOR.getByName(endpoint(service));

describe("alerts through the queue", () => {
  it("the alarm hands the alerts to the queue and its consumer delivers them", { timeout: 60_000 }, async () => {
    expect(env.ALERTS_QUEUE).toBeDefined();
    const id = await channel("aq-hook-a", "aq-a");
    await send(traffic("aq-a", OUTAGE).records);
    await flushAll();
    // The consumer runs after the queue's batch timeout, outside the alarm.
    await eventually(async () => (await received("aq-hook-a")).length >= 2, 20_000);
    expect(await received("aq-hook-a")).toEqual(["incident.opened", "incident.escalated"]);
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
    await eventually(async () => (await received("aq-hook-b")).length >= 2, 20_000);
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
    expect(await received("aq-hook-b")).toEqual(["incident.opened", "incident.escalated", "incident.reminder"]);
    // Nothing left to claim: the reminder was recorded once, as delivered.
    expect(await inMonitor(stub("aq-b"), (m) => m.outbox.claim(handOff.ids, handOff.lease_until))).toEqual([]);
  });

  it("a message handed off twice and never reported is sent by the alarm itself", { timeout: 60_000 }, async () => {
    await channel("aq-hook-c", "aq-c");
    await send(traffic("aq-c", OUTAGE).records);
    await flushAll();
    await eventually(async () => (await received("aq-hook-c")).length >= 2, 20_000);
    const steps = await inMonitor(stub("aq-c"), async (m) => {
      const incident = m.detection.incidents(1)[0];
      if (!incident) throw new Error("no incident");
      const t0 = Date.now();
      m.outbox.enqueue({ ...incident, incident_id: incident.id, event: "incident.reminder" }, t0);
      // Two hand-offs whose consumer never answers (each lease runs out), then the third time is stale.
      const first = await m.outbox.prepare(t0, () => undefined);
      const second = await m.outbox.prepare(first.leaseUntil, () => undefined);
      const third = await m.outbox.prepare(second.leaseUntil, () => undefined);
      return { first: first.ids.length, second: second.ids.length, stale: third.stale, ids: third.ids };
    });
    expect(steps).toEqual({ first: 1, second: 1, stale: true, ids: [] });
    // The alarm's step then sends it from the object (the queue accepts, but nobody consumes).
    await inMonitor(stub("aq-c"), (m) => m.outbox.run(Date.now() + 200_000));
    expect(await received("aq-hook-c")).toEqual(["incident.opened", "incident.escalated", "incident.reminder"]);
  });
});
