/**
 * Reminders while a CRITICAL incident stays open, with a fake clock (the object's followUp and
 * outbox runs take the time): one every ALERT_REMINDER_MINUTES (240 here, the default) after the
 * last alert, none before; every webhook carries `status` and `group` (test/unit/follow-up.test.ts
 * covers the rules: resolved or WARNING incidents and ALERT_REMINDER_MINUTES = 0 get none).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_KEY, call, eventually, getJson, inMonitor } from "./helpers";
import { send, traffic } from "./traffic";

const SECRET = `whsec_${btoa("0123456789abcdef0123456789abcdef")}`;
const MINUTE = 60_000;
const OUTAGE = [
  { minutes: 60, perMinute: 30 },
  { minutes: 6, perMinute: 30, errorRate: 0.7 },
];

type Message = { type: string; status: string; group: unknown; data: { id: string; status: string } };

async function received(name: string): Promise<Message[]> {
  const res = await env.ORIGIN.fetch(new Request(`http://origin.test/hooks/${name}`));
  return (await res.json<{ body: string }[]>()).map((h) => JSON.parse(h.body) as Message);
}

describe("reminders", () => {
  it("re-alerts an open CRITICAL every 240 minutes after its last alert, on schedule", async () => {
    const res = await call("/v1/alert-channels", {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        type: "webhook",
        name: "rem-hook",
        url: "http://127.0.0.1/hooks/rem-hook",
        secret: SECRET,
        services: ["rem-a"],
      }),
    });
    expect(res.status).toBe(201);
    const before = Date.now();
    await send(traffic("rem-a", OUTAGE).records);
    const after = Date.now();
    const monitor = env.ENDPOINT_MONITOR.getByName("rem-a GET /orders/:id");
    // The alarm handed the first alerts to the queue: its consumer sends them and records them.
    await eventually(async () => (await received("rem-hook")).length >= 2, 20_000);
    await eventually(
      async () =>
        (await getJson<{ deliveries: unknown[] }>("/v1/alert-deliveries?limit=10")).body.deliveries.length >= 2,
      10_000,
    );
    const step = async (at: number) => {
      await inMonitor(monitor, (m) => m.jobs.followUp.followUp(at));
      await inMonitor(monitor, (m) => m.outbox.run(at));
      return (await received("rem-hook")).map((m) => [m.type, m.status, m.group]);
    };
    expect(await step(after)).toEqual([
      ["incident.opened", "firing", null],
      ["incident.escalated", "firing", null],
    ]);
    // The last alert (the escalation) was recorded between `before` and `after`.
    expect(await step(before + 239 * MINUTE)).toHaveLength(2);
    const first = after + 240 * MINUTE;
    expect((await step(first)).slice(2)).toEqual([["incident.reminder", "firing", null]]);
    // Asking again at the same time or a little later sends nothing more.
    expect(await step(first)).toHaveLength(3);
    expect(await step(first + 239 * MINUTE)).toHaveLength(3);
    // The next one is 240 minutes after the first reminder.
    expect((await step(first + 240 * MINUTE)).slice(3)).toEqual([["incident.reminder", "firing", null]]);
    const messages = await received("rem-hook");
    expect(new Set(messages.map((m) => m.data.id)).size).toBe(1);
    expect(messages.every((m) => m.data.status === "open")).toBe(true);
  });
});
