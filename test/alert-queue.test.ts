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
    const deliveries = await getJson<{ deliveries: Delivery[] }>(`/v1/alert-deliveries?channel_id=${id}`);
    expect(deliveries.body.deliveries.map((d) => [d.event, d.attempt, d.status]).sort()).toEqual([
      ["incident.escalated", 1, "delivered"],
      ["incident.opened", 1, "delivered"],
    ]);
  });

  it("a redelivered hand-off, even beside the first, sends once", { timeout: 60_000 }, async () => {
    await channel("aq-hook-b", "aq-b");
    await send(traffic("aq-b", OUTAGE).records);
    await flushAll();
    await eventually(async () => (await received("aq-hook-b")).length >= 2, 20_000);
    // A reminder fanned out inside the object without a hand-off: due, claimed by no one yet.
    const due = await inMonitor(stub("aq-b"), async (m) => {
      const incident = m.detection.incidents(1)[0];
      if (!incident) throw new Error("no incident");
      const now = Date.now();
      m.outbox.enqueue({ ...incident, incident_id: incident.id, event: "incident.reminder" }, now);
      return (await m.outbox.prepare(now, () => undefined)).due;
    });
    expect(due).toBe(1);
    const body: AlertHandOff = { endpoint: endpoint("aq-b"), summarize: [] };
    const batch = (attempts: number) =>
      createMessageBatch<AlertHandOff>("edge-monitor-alerts", [
        { id: "aq-msg", timestamp: new Date(), attempts, body },
      ]);
    const [first, again, later] = [batch(1), batch(2), batch(3)];
    const ctxs = [createExecutionContext(), createExecutionContext(), createExecutionContext()];
    // The first delivery and its redelivery at once, then one more after both.
    await Promise.all([worker.queue(first, env), worker.queue(again, env)]);
    await worker.queue(later, env);
    for (const [i, b] of [first, again, later].entries()) {
      const result = await getQueueResult(b, ctxs[i] ?? createExecutionContext());
      expect(result.explicitAcks).toEqual(["aq-msg"]);
    }
    expect(await received("aq-hook-b")).toEqual(["incident.opened", "incident.escalated", "incident.reminder"]);
    // Nothing left due: the reminder was recorded once, as delivered.
    expect(await inMonitor(stub("aq-b"), (m) => m.outbox.claim(Date.now() + 3_600_000))).toEqual([]);
  });
});
