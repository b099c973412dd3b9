/**
 * Alert delivery end to end: an incident opened from real traffic reaches a webhook receiver
 * (the auxiliary origin worker's /hooks) signed as Standard Webhooks describes; a receiver that
 * fails is retried with the same message id until it answers; every attempt is in
 * GET /v1/alert-deliveries; the outbox survives an eviction; and updates respect the cooldown.
 */
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { verifyStandardWebhook } from "../src/alerts/sign";
import { channel, received, WEBHOOK_SECRET as SECRET } from "./alert-helpers";
import { eventually, flushAll, getJson, inMonitor } from "./helpers";
import { send, traffic } from "./traffic";

const OUTAGE = [
  { minutes: 60, perMinute: 30 },
  { minutes: 6, perMinute: 30, errorRate: 0.7 },
];

type Delivery = {
  message_id: string;
  channel_id: string;
  incident_id: string | null;
  event: string;
  attempt: number;
  status: string;
  response_code: number | null;
};

/** Waits until `n` messages reached the receiver: the alarm hands alerts to the queue, whose consumer sends them a moment later. */
async function arrived(name: string, n: number): Promise<void> {
  await eventually(async () => (await received(name)).length >= n, 20_000);
}

function stub(service: string) {
  const ns = env.ENDPOINT_MONITOR;
  return ns.get(ns.idFromName(`${service} GET /orders/:id`));
}

describe("alert delivery", () => {
  it("sends a signed incident.opened to the matching webhook channel, once, and records it", async () => {
    const id = await channel("dlv-ok", "dlv-a");
    await channel("dlv-other", "dlv-somebody-else");
    await send(traffic("dlv-a", OUTAGE).records);
    await flushAll();
    await arrived("dlv-ok", 2);
    const got = await received("dlv-ok");
    // The outage opens a WARNING (5xx) and escalates a minute later (page-level burn): two messages.
    const types = got.map((r) => (JSON.parse(r.body) as { type: string }).type);
    expect(types).toEqual(["incident.opened", "incident.escalated"]);
    for (const msg of got) expect(await verifyStandardWebhook(SECRET, msg.headers, msg.body)).toBe(true);
    const [msg] = got;
    // Tampering breaks the signature.
    expect(await verifyStandardWebhook(SECRET, msg?.headers ?? {}, (msg?.body ?? "").replace("dlv-a", "dlv-x"))).toBe(
      false,
    );
    const body = JSON.parse(msg?.body ?? "{}") as {
      type: string;
      data: { id: string; service: string; severity: string; explanation: string };
    };
    expect(body.data.service).toBe("dlv-a");
    expect(body.data.explanation).toMatch(/5xx/);
    expect(await received("dlv-other")).toEqual([]);
    const deliveries = await getJson<{ deliveries: Delivery[] }>(`/v1/alert-deliveries?channel_id=${id}`);
    expect(
      deliveries.body.deliveries.map((d) => [d.event, d.attempt, d.status, d.response_code, d.incident_id]).sort(),
    ).toEqual([
      ["incident.escalated", 1, "delivered", 200, body.data.id],
      ["incident.opened", 1, "delivered", 200, body.data.id],
    ]);
    expect(deliveries.body.deliveries.map((d) => d.message_id).sort()).toEqual(
      got.map((r) => r.headers["webhook-id"]).sort(),
    );
    // Running the outbox again sends nothing more.
    await inMonitor(stub("dlv-a"), (m) => m.outbox.run(Date.now() + 3_600_000));
    expect(await received("dlv-ok")).toHaveLength(2);
  });

  it("retries a failing receiver with backoff and the same message id until it answers", async () => {
    const id = await channel("dlv-flaky", "dlv-b");
    const config = await env.ORIGIN.fetch(
      new Request("http://origin.test/hooks/dlv-flaky/config", {
        method: "POST",
        body: JSON.stringify({ fail: 2, status: 503 }),
      }),
    );
    expect(config.ok).toBe(true);
    await send(traffic("dlv-b", OUTAGE).records);
    await flushAll();
    // Both first attempts made (and failed) by whoever sent them first: the queue's consumer or the run below.
    await inMonitor(stub("dlv-b"), (m) => m.outbox.run(Date.now()));
    const attempts = async () =>
      (await getJson<{ deliveries: Delivery[] }>(`/v1/alert-deliveries?channel_id=${id}`)).body.deliveries.length;
    await eventually(async () => (await attempts()) >= 2, 20_000);
    const monitor = stub("dlv-b");
    // The first retry is due about 30 s later, not before.
    const next = await inMonitor(monitor, (m) => m.outbox.run(Date.now()));
    expect(next).toBeGreaterThan(Date.now() + 20_000);
    expect(next).toBeLessThan(Date.now() + 40_000);
    await inMonitor(monitor, (m) => m.outbox.run(Date.now() + 60_000));
    const got = await received("dlv-flaky");
    // Two messages (opened, escalated), each failed once (the receiver's two failures) and then delivered, under one id each.
    expect(got).toHaveLength(4);
    const ids = got.map((r) => r.headers["webhook-id"]);
    expect(new Set(ids).size).toBe(2);
    for (const one of new Set(ids)) expect(ids.filter((x) => x === one)).toHaveLength(2);
    const deliveries = (await getJson<{ deliveries: Delivery[] }>(`/v1/alert-deliveries?channel_id=${id}`)).body
      .deliveries;
    expect(deliveries.map((d) => [d.event, d.attempt, d.status, d.response_code]).sort()).toEqual([
      ["incident.escalated", 1, "failed", 503],
      ["incident.escalated", 2, "delivered", 200],
      ["incident.opened", 1, "failed", 503],
      ["incident.opened", 2, "delivered", 200],
    ]);
  });

  it("keeps a pending alert through an eviction (the outbox is on disk)", { timeout: 30_000 }, async () => {
    await channel("dlv-evict", "dlv-c");
    await env.ORIGIN.fetch(
      new Request("http://origin.test/hooks/dlv-evict/config", {
        method: "POST",
        body: JSON.stringify({ fail: 1, status: 503 }),
      }),
    );
    await send(traffic("dlv-c", OUTAGE).records);
    await flushAll();
    await arrived("dlv-evict", 2);
    expect(await received("dlv-evict")).toHaveLength(2); // opened failed, escalated delivered
    // (Eviction waits for the local AI call the first alert started: locally it never answers; the queue consumer waits up to 8 s for it.)
    await evictDurableObject(stub("dlv-c"));
    await inMonitor(stub("dlv-c"), (m) => m.outbox.run(Date.now() + 60_000));
    const got = await received("dlv-evict");
    expect(got).toHaveLength(3);
    expect(got[2]?.headers["webhook-id"]).toBe(got[0]?.headers["webhook-id"]);
    expect((JSON.parse(got[2]?.body ?? "{}") as { type: string }).type).toBe("incident.opened");
  });

  it("delays an update of one incident within the cooldown, coalesces a second one, then sends it", async () => {
    const id = await channel("dlv-cool", "dlv-d");
    await send(traffic("dlv-d", OUTAGE).records);
    await flushAll();
    await arrived("dlv-cool", 2);
    const incident = (await getJson<{ incidents: { id: string }[] }>("/v1/incidents?service=dlv-d")).body.incidents[0];
    expect(incident).toBeDefined();
    const monitor = stub("dlv-d");
    await monitor.announceUpdate(incident?.id ?? "");
    await monitor.announceUpdate(incident?.id ?? "");
    await inMonitor(monitor, (m) => m.outbox.run(Date.now()));
    const types = async () => (await received("dlv-cool")).map((r) => (JSON.parse(r.body) as { type: string }).type);
    expect(await types()).toEqual(["incident.opened", "incident.escalated"]);
    const deliveries = (await getJson<{ deliveries: Delivery[] }>(`/v1/alert-deliveries?channel_id=${id}`)).body
      .deliveries;
    expect(deliveries.filter((d) => d.event === "incident.updated").map((d) => d.status)).toEqual(["skipped"]);
    // Once the cooldown is over, the one waiting update goes.
    await inMonitor(monitor, (m) => m.outbox.run(Date.now() + 11 * 60_000));
    expect(await types()).toEqual(["incident.opened", "incident.escalated", "incident.updated"]);
  });
});
