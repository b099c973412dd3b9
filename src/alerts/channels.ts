/**
 * Alert channels: a Standard Webhooks signed webhook, a Slack incoming webhook or PagerDuty
 * Events v2, stored in D1 and configured through the admin API. The secret (a webhook's
 * `whsec_` key, PagerDuty's routing key) is write-only: `toApiChannel` says whether there is one
 * and never what it is. A Slack webhook URL is itself a credential, so its token is masked in
 * the API as well (`maskChannelUrl`, also for other hosts whose URL is the credential).
 *
 * URLs must be https to a public host (`channel-url.ts`: no private, link-local or internal
 * address or name; loopback only with ALLOW_LOOPBACK_ALERT_URLS=true, for local development).
 */
import { desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import * as z from "zod";
import { alertChannels } from "../db/schema";
import { ApiError } from "../http/errors";
import { SERVICE_NAME } from "../services/config";
import { channelUrlProblems, maskChannelUrl, type AlertUrlPolicy } from "./channel-url";
import { webhookSecretBytes } from "./sign";

export { maskChannelUrl };

export const CHANNEL_TYPES = ["webhook", "slack", "pagerduty"] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];
export const SEVERITIES = ["WARNING", "CRITICAL"] as const;
export type ChannelSeverity = (typeof SEVERITIES)[number];
export const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";
export const CHANNEL_ID = /^ch_[a-z0-9]{16}$/;

function channelUrl(policy: AlertUrlPolicy) {
  return z
    .string()
    .max(2048)
    .superRefine((value, ctx) => {
      for (const message of channelUrlProblems(value, policy)) ctx.addIssue({ code: "custom", message });
    });
}

function channelInputSchema(policy: AlertUrlPolicy) {
  return z
    .strictObject({
      type: z.enum(CHANNEL_TYPES),
      name: z.string().trim().min(1).max(100),
      url: channelUrl(policy).optional(),
      secret: z.string().min(1).max(200).optional(),
      services: z
        .array(z.string().regex(SERVICE_NAME, "must be a service name (1-64 characters of A-Z a-z 0-9 . _ -)"))
        .min(1)
        .max(100)
        .transform((list) => [...new Set(list)])
        .optional(),
      min_severity: z
        .string()
        .transform((s) => s.toUpperCase())
        .pipe(z.enum(SEVERITIES))
        .default("WARNING"),
      enabled: z.boolean().default(true),
    })
    .superRefine((c, ctx) => {
      if (c.url === undefined && c.type !== "pagerduty")
        ctx.addIssue({ code: "custom", path: ["url"], message: `required for ${c.type} channels` });
      if (c.secret === undefined) return;
      if (c.type === "slack")
        ctx.addIssue({
          code: "custom",
          path: ["secret"],
          message: "a slack channel takes no secret (the webhook URL is the credential)",
        });
      if (c.type === "webhook" && !webhookSecretBytes(c.secret)) {
        ctx.addIssue({
          code: "custom",
          path: ["secret"],
          message: "must be whsec_ followed by the base64 of 24 to 64 random bytes (Standard Webhooks)",
        });
      }
      if (c.type === "pagerduty" && !/^[A-Za-z0-9]{32}$/.test(c.secret)) {
        ctx.addIssue({
          code: "custom",
          path: ["secret"],
          message: "must be the 32-character PagerDuty integration (routing) key",
        });
      }
    });
}

/** The body of `POST /v1/alert-channels` and `PUT /v1/alert-channels/:id` (public hosts only, as documented). */
export const channelInput = channelInputSchema({ allowLoopback: false });
const channelInputWithLoopback = channelInputSchema({ allowLoopback: true });

/** The body schema under `policy` (loopback URLs allowed only when it says so). */
export function channelInputFor(policy: AlertUrlPolicy): typeof channelInput {
  return policy.allowLoopback ? channelInputWithLoopback : channelInput;
}
export type ChannelInput = z.output<typeof channelInput>;

/** A channel as stored, secret included: for the delivery code only, never for an API answer. */
export interface StoredChannel {
  id: string;
  type: ChannelType;
  name: string;
  url: string;
  secret: string | null;
  /** null: every service. */
  services: string[] | null;
  min_severity: ChannelSeverity;
  enabled: boolean;
  created_at: number;
  updated_at: number;
}

/**
 * The channel's fields from a validated body. A body without `secret` keeps `storedSecret`
 * when the type did not change (a PUT need not repeat it); webhook and PagerDuty channels
 * must end up with one.
 */
export function channelFields(input: ChannelInput, stored: { type: string; secret: string | null } | null = null) {
  const secret = input.secret ?? (stored && stored.type === input.type ? stored.secret : null);
  if (secret === null && input.type !== "slack") {
    const what = input.type === "webhook" ? "the whsec_ signing secret" : "the PagerDuty routing key";
    throw new ApiError(400, "invalid_request", "invalid alert channel", [
      `secret: required for ${input.type} channels (${what})`,
    ]);
  }
  return {
    type: input.type,
    name: input.name,
    url: input.url ?? PAGERDUTY_EVENTS_URL,
    secret,
    services: input.services ?? null,
    min_severity: input.min_severity,
    enabled: input.enabled,
  };
}

type Row = typeof alertChannels.$inferSelect;

function fromRow(r: Row): StoredChannel {
  return {
    id: r.id,
    type: r.type as ChannelType,
    name: r.name,
    url: r.url,
    secret: r.secret,
    services: r.services === null ? null : (JSON.parse(r.services) as string[]),
    min_severity: r.minSeverity as ChannelSeverity,
    enabled: r.enabled,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

function toRow(f: ReturnType<typeof channelFields>) {
  return {
    type: f.type,
    name: f.name,
    url: f.url,
    secret: f.secret,
    services: f.services === null ? null : JSON.stringify(f.services),
    minSeverity: f.min_severity,
    enabled: f.enabled,
  };
}

/** The public JSON of a channel: no secret, only whether it has one. */
export function toApiChannel(c: StoredChannel) {
  return {
    id: c.id,
    type: c.type,
    name: c.name,
    url: maskChannelUrl(c.type, c.url),
    has_secret: c.secret !== null,
    services: c.services,
    min_severity: c.min_severity,
    enabled: c.enabled,
    created_at: c.created_at,
    updated_at: c.updated_at,
  };
}

const RANK: Record<string, number> = { WARNING: 1, CRITICAL: 2 };

/** Whether an incident of `service` at `severity` goes to this channel (enabled, service filter, minimum severity). */
export function channelMatches(channel: StoredChannel, incident: { service: string; severity: string }): boolean {
  if (!channel.enabled) return false;
  if (channel.services !== null && !channel.services.includes(incident.service)) return false;
  return (RANK[incident.severity.toUpperCase()] ?? 0) >= (RANK[channel.min_severity] ?? 1);
}

const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

function newChannelId(): string {
  let id = "ch_";
  for (const b of crypto.getRandomValues(new Uint8Array(16))) id += ID_ALPHABET[b % 32];
  return id;
}

/** Stores a new channel. */
export async function createChannel(
  db: D1Database,
  fields: ReturnType<typeof channelFields>,
  now = Date.now(),
): Promise<StoredChannel> {
  const row = await drizzle(db)
    .insert(alertChannels)
    .values({ id: newChannelId(), ...toRow(fields), createdAt: now, updatedAt: now })
    .returning()
    .get();
  return fromRow(row);
}

/** One channel, or null. */
export async function getChannel(db: D1Database, id: string): Promise<StoredChannel | null> {
  if (!CHANNEL_ID.test(id)) return null;
  const row = await drizzle(db).select().from(alertChannels).where(eq(alertChannels.id, id)).get();
  return row ? fromRow(row) : null;
}

/** Every channel, newest first. */
export async function listChannels(db: D1Database): Promise<StoredChannel[]> {
  const rows = await drizzle(db)
    .select()
    .from(alertChannels)
    .orderBy(desc(alertChannels.createdAt), desc(alertChannels.id))
    .all();
  return rows.map(fromRow);
}

/** The enabled channels, for the delivery code (which filters them with `channelMatches`). */
export async function loadEnabledChannels(db: D1Database): Promise<StoredChannel[]> {
  const rows = await drizzle(db).select().from(alertChannels).where(eq(alertChannels.enabled, true)).all();
  return rows.map(fromRow);
}

/** Replaces a channel's settings (full replace); null when there is no such channel. */
export async function replaceChannel(
  db: D1Database,
  id: string,
  fields: ReturnType<typeof channelFields>,
  now = Date.now(),
): Promise<StoredChannel | null> {
  const row = await drizzle(db)
    .update(alertChannels)
    .set({ ...toRow(fields), updatedAt: now })
    .where(eq(alertChannels.id, id))
    .returning()
    .get();
  return row ? fromRow(row) : null;
}

/** Deletes a channel; false when there was none. Its delivery history stays. */
export async function deleteChannel(db: D1Database, id: string): Promise<boolean> {
  const deleted = await drizzle(db)
    .delete(alertChannels)
    .where(eq(alertChannels.id, id))
    .returning({ id: alertChannels.id })
    .all();
  return deleted.length > 0;
}
