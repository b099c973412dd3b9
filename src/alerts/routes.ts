/**
 * Admin API for alert channels (`/v1/alert-channels`: create, list, read, full replace, delete,
 * and `POST /:id/test` which sends a test message now) and the read API of delivery attempts
 * (`GET /v1/alert-deliveries`). Secrets are write-only: no answer ever carries one.
 */
import { and, desc, eq, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import * as z from "zod";
import { dashboardUrl } from "../config";
import { alertDeliveries } from "../db/schema";
import { ApiError } from "../http/errors";
import { defineRoute } from "../http/route";
import type { AppEnv } from "../http/types";
import { parseOr400, readJsonBody } from "../http/validate";
import {
  CHANNEL_ID,
  channelFields,
  channelInput,
  channelInputFor,
  createChannel,
  deleteChannel,
  getChannel,
  listChannels,
  replaceChannel,
  toApiChannel,
  type StoredChannel,
} from "./channels";
import { alertUrlPolicy } from "./channel-url";
import type { AlertMessage } from "./payloads";
import { channelListSchema, channelSchema, channelTestSchema, deliveryListSchema } from "./schemas";
import { deliver, recordDelivery } from "./send";

async function channelOr404(db: D1Database, id: string): Promise<StoredChannel> {
  const channel = await getChannel(db, id);
  if (!channel) throw new ApiError(404, "alert_channel_not_found", `no alert channel ${id.slice(0, 60)}`);
  return channel;
}

function newMessageId(): string {
  return `msg_test_${crypto.randomUUID().replace(/-/g, "")}`;
}

const channelParams = z.object({ id: z.string().regex(CHANNEL_ID) });
const noChannel = (raw: Record<string, string>) =>
  new ApiError(404, "alert_channel_not_found", `no alert channel ${(raw.id ?? "").slice(0, 60)}`);
const notFound = { description: "no such channel" };

export const alertChannelsApp = new Hono<AppEnv>();

defineRoute(
  alertChannelsApp,
  {
    method: "POST",
    path: "/",
    key: "admin",
    tag: "Alerts",
    summary: "Create an alert channel (webhook, slack, pagerduty)",
    // The URL policy comes from env: the handler parses the body with it.
    request: { body: { schema: channelInput, validate: false } },
    responses: { 201: { description: "the channel (secrets never shown)", schema: channelSchema } },
  },
  async (c) => {
    const input = parseOr400(channelInputFor(alertUrlPolicy(c.env)), await readJsonBody(c.req.raw), "alert channel");
    const channel = await createChannel(c.env.DB, channelFields(input));
    return c.json(toApiChannel(channel), 201);
  },
);

defineRoute(
  alertChannelsApp,
  {
    method: "GET",
    path: "/",
    key: "admin",
    tag: "Alerts",
    summary: "Every alert channel",
    responses: { 200: { description: "channels", schema: channelListSchema } },
  },
  async (c) => {
    const channels = await listChannels(c.env.DB);
    return c.json({ channels: channels.map(toApiChannel) });
  },
);

defineRoute(
  alertChannelsApp,
  {
    method: "GET",
    path: "/:id",
    key: "admin",
    tag: "Alerts",
    summary: "One alert channel",
    request: { params: channelParams, invalidParams: noChannel },
    responses: { 200: { description: "the channel", schema: channelSchema }, 404: notFound },
  },
  async (c, { params }) => c.json(toApiChannel(await channelOr404(c.env.DB, params.id))),
);

defineRoute(
  alertChannelsApp,
  {
    method: "PUT",
    path: "/:id",
    key: "admin",
    tag: "Alerts",
    summary: "Replace an alert channel",
    request: { params: channelParams, invalidParams: noChannel, body: { schema: channelInput, validate: false } },
    responses: { 200: { description: "the channel", schema: channelSchema }, 404: notFound },
  },
  async (c, { params }) => {
    const stored = await channelOr404(c.env.DB, params.id);
    const body = await readJsonBody(c.req.raw);
    // The URL as GET shows it (a Slack token or query secrets masked) keeps the stored one, so a
    // client can send back what it read.
    if (body !== null && typeof body === "object" && "url" in body && body.url === toApiChannel(stored).url) {
      body.url = stored.url;
    }
    // A stored URL sent back as read is checked again: one the policy now refuses must be replaced.
    const input = parseOr400(channelInputFor(alertUrlPolicy(c.env)), body, "alert channel");
    const channel = await replaceChannel(c.env.DB, stored.id, channelFields(input, stored));
    if (!channel) throw new ApiError(404, "alert_channel_not_found", `no alert channel ${stored.id}`);
    return c.json(toApiChannel(channel));
  },
);

defineRoute(
  alertChannelsApp,
  {
    method: "DELETE",
    path: "/:id",
    key: "admin",
    tag: "Alerts",
    summary: "Delete an alert channel",
    request: { params: channelParams, invalidParams: noChannel },
    responses: { 204: { description: "done, no content" }, 404: notFound },
  },
  async (c, { params: { id } }) => {
    if (await deleteChannel(c.env.DB, id)) return c.body(null, 204);
    throw new ApiError(404, "alert_channel_not_found", `no alert channel ${id.slice(0, 60)}`);
  },
);

defineRoute(
  alertChannelsApp,
  {
    method: "POST",
    path: "/:id/test",
    key: "admin",
    tag: "Alerts",
    summary: "Send a test message now",
    request: { params: channelParams, invalidParams: noChannel },
    responses: { 200: { description: "the outcome", schema: channelTestSchema }, 404: notFound },
  },
  async (c, { params }) => {
    // Works on a disabled channel too: checking a channel before enabling it is the point.
    const channel = await channelOr404(c.env.DB, params.id);
    const now = Date.now();
    const message: AlertMessage = {
      id: newMessageId(),
      event: "test",
      timestamp: now,
      incident: null,
      dashboard_url: dashboardUrl(c.env),
    };
    // deliver() checks the URL again: a channel stored before a policy change is refused, not sent.
    const result = await deliver(channel, message, undefined, alertUrlPolicy(c.env));
    await recordDelivery(c.env.DB, {
      message_id: message.id,
      channel_id: channel.id,
      incident_id: null,
      event: "test",
      attempt: 1,
      at: now,
      status: result.ok ? "delivered" : "failed",
      response_code: result.status,
      error: result.error,
      duration_ms: result.duration_ms,
    });
    return c.json({
      delivered: result.ok,
      status_code: result.status,
      error: result.error,
      message_id: message.id,
      duration_ms: result.duration_ms,
    });
  },
);

export const deliveryFilters = z.object({
  channel_id: z.string().min(1).max(64).optional(),
  incident_id: z.string().min(1).max(128).optional(),
  status: z.enum(["delivered", "failed", "gave_up", "skipped"]).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const alertDeliveriesApp = new Hono<AppEnv>();

defineRoute(
  alertDeliveriesApp,
  {
    method: "GET",
    path: "/",
    key: "read",
    tag: "Alerts",
    summary: "Delivery attempts, newest first",
    request: { query: deliveryFilters },
    responses: { 200: { description: "deliveries", schema: deliveryListSchema } },
  },
  async (c, { query: f }) => {
    const t = alertDeliveries;
    const conditions: SQL[] = [];
    if (f.channel_id !== undefined) conditions.push(eq(t.channelId, f.channel_id));
    if (f.incident_id !== undefined) conditions.push(eq(t.incidentId, f.incident_id));
    if (f.status !== undefined) conditions.push(eq(t.status, f.status));
    const rows = await drizzle(c.env.DB)
      .select()
      .from(t)
      .where(and(...conditions))
      .orderBy(desc(t.at), desc(t.seq))
      .limit(f.limit)
      .all();
    return c.json({
      deliveries: rows.map((r) => ({
        message_id: r.messageId,
        channel_id: r.channelId,
        incident_id: r.incidentId,
        event: r.event,
        attempt: r.attempt,
        at: r.at,
        status: r.status,
        response_code: r.responseCode,
        error: r.error,
        duration_ms: r.durationMs,
      })),
    });
  },
);
