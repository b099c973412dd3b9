/**
 * Webhook channels and what their receiver got, shared by the alert tests: a channel posts to the
 * auxiliary origin worker's /hooks/:name, which records every call and answers them in order.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { ADMIN_KEY, call } from "./helpers";

/** The signing secret of the channels `channel` creates. */
export const WEBHOOK_SECRET = `whsec_${btoa("0123456789abcdef0123456789abcdef")}`;

/** One webhook call as the receiver recorded it. */
export type Received = { headers: Record<string, string>; body: string };

/** A webhook body, with the fields the tests read. */
export type WebhookBody = {
  type: string;
  status: string;
  group: unknown;
  data: { id: string; in_maintenance: boolean };
};

/** Creates a webhook channel `name` for `service`, posting to the receiver's /hooks/`name`; returns its id. */
export async function channel(name: string, service: string): Promise<string> {
  const res = await call("/v1/alert-channels", {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      type: "webhook",
      name,
      url: `http://127.0.0.1/hooks/${name}`,
      secret: WEBHOOK_SECRET,
      services: [service],
    }),
  });
  expect(res.status).toBe(201);
  return (await res.json<{ id: string }>()).id;
}

/** The calls the receiver's /hooks/`name` got, oldest first. */
export async function received(name: string): Promise<Received[]> {
  const res = await env.ORIGIN.fetch(new Request(`http://origin.test/hooks/${name}`));
  return await res.json<Received[]>();
}

/** The bodies of the calls /hooks/`name` got, parsed, oldest first. */
export async function receivedBodies(name: string): Promise<WebhookBody[]> {
  return (await received(name)).map((r) => JSON.parse(r.body) as WebhookBody);
}

/** The event types (`incident.opened`, ...) of the calls /hooks/`name` got, oldest first. */
export async function receivedTypes(name: string): Promise<string[]> {
  return (await receivedBodies(name)).map((b) => b.type);
}
