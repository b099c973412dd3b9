/**
 * What an alert looks like on each channel: a signed Standard Webhooks JSON event, a Slack
 * Block Kit message, a PagerDuty Events v2 event. Pure builders (signing aside, which is Web
 * Crypto): they take a channel and a message and return the request to send. Every piece of
 * the incident goes through `scrubDeep` first, so no API key, bearer token, cookie or card number
 * that slipped into an explanation, a figure or an AI summary can leave in a payload.
 */
import * as z from "zod";
import type { ApiGroup } from "../incidents/group-store";
import type { toApiIncident } from "../incidents/api-incident";
import { scrubDeep, scrubOutgoingText } from "../redact";
import type { StoredChannel } from "./channels";
import { standardWebhookHeaders } from "./sign";

export type AlertEvent =
  "incident.opened" | "incident.escalated" | "incident.resolved" | "incident.updated" | "incident.reminder" | "test";
/** An incident as the API shows it; a group's alert adds the group (its members, origin_down, the PagerDuty dedup key as `dedup_id`). */
export type ApiIncident = ReturnType<typeof toApiIncident> & { group?: AlertGroup };
export type AlertGroup = ApiGroup & { dedup_id: string };

/** One alert to send to one channel; `id` is the stable webhook id (the same on every attempt). */
export interface AlertMessage {
  id: string;
  event: AlertEvent;
  /** When the change happened (ms). */
  timestamp: number;
  /** null for a test message. */
  incident: ApiIncident | null;
  /** Base URL of the dashboard (`DASHBOARD_URL`), for links; null when none is configured. */
  dashboard_url: string | null;
}

export interface OutboundRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const USER_AGENT = "edge-monitor-alerts/1";
const JSON_HEADERS = { "content-type": "application/json", "user-agent": USER_AGENT };

const aiSummary = z.object({
  summary: z.string(),
  likely_causes: z.array(z.string()).catch([]),
  suggested_actions: z.array(z.string()).catch([]),
  confidence: z.number().nullish(),
});
type AiSummary = z.output<typeof aiSummary>;

const TITLES: Record<AlertEvent, string> = {
  "incident.opened": "Incident opened",
  "incident.escalated": "Incident escalated",
  "incident.resolved": "Incident resolved",
  "incident.updated": "Incident updated",
  "incident.reminder": "Reminder: incident still open",
  test: "Test message",
};

/** The incident with every string scrubbed and sensitive keys redacted. */
export function redactedIncident(incident: ApiIncident): ApiIncident {
  return scrubDeep(incident) as ApiIncident;
}

/** The dashboard link of an incident, or null without a dashboard URL. */
export function incidentLink(message: AlertMessage): string | null {
  if (!message.dashboard_url || !message.incident) return null;
  return `${message.dashboard_url.replace(/\/+$/, "")}/#/incidents/${encodeURIComponent(message.incident.id)}`;
}

function summaryOf(incident: ApiIncident): AiSummary | null {
  const parsed = aiSummary.safeParse(incident.ai_summary);
  return parsed.success ? parsed.data : null;
}

function figure(figures: unknown, name: string): number | null {
  if (figures === null || typeof figures !== "object") return null;
  const v = (figures as Record<string, unknown>)[name];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** Key figures as short text: requests/min, 5xx rate, p95. */
function keyFigures(figures: unknown): { rpm: string; errors: string; p95: string } {
  const rpm = figure(figures, "requests_per_minute");
  const err = figure(figures, "error_rate");
  const p95 = figure(figures, "p95_ms");
  return {
    rpm: rpm === null ? "n/a" : rpm >= 100 ? rpm.toFixed(0) : rpm.toFixed(1),
    errors: err === null ? "n/a" : `${(err * 100).toFixed(err < 0.01 ? 2 : 1)}%`,
    p95: p95 === null ? "n/a" : `${p95.toFixed(0)} ms`,
  };
}

const endpointOf = (i: ApiIncident) => `${i.service} ${i.method} ${i.route}`;
const cut = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);
const iso = (ms: number) => new Date(ms).toISOString();

/** Whether the group holds endpoints of several services (behind one origin). */
const spansServices = (g: AlertGroup) => g.services.length > 1;

/** What the alert is about: the endpoint, or the group's service (or origin and services) and how many endpoints. */
function subjectOf(i: ApiIncident): string {
  if (!i.group) return endpointOf(i);
  const down = i.group.origin_down ? " (origin down)" : "";
  if (spansServices(i.group))
    return `origin ${i.group.origin ?? "?"}: ${i.group.members.length} endpoints of ${i.group.services.join(", ")}${down}`;
  return `${i.service}: ${i.group.members.length} endpoints${down}`;
}

/** The group's members, one line each (at most `max`); each names its service when the group spans several. */
function memberLines(group: AlertGroup, max: number): string[] {
  const prefix = (m: AlertGroup["members"][number]) => (spansServices(group) ? `${m.service} ` : "");
  const lines = group.members
    .slice(0, max)
    .map((m) => `${prefix(m)}${m.method} ${m.route} (${m.severity}, ${m.status})`);
  if (group.members.length > max) lines.push(`and ${group.members.length - max} more`);
  return lines;
}

/** One line for a chat title or a PagerDuty summary. */
function headline(message: AlertMessage, i: ApiIncident): string {
  const state = message.event === "incident.resolved" || i.status === "resolved" ? "RESOLVED" : i.severity;
  return `[${state}] ${subjectOf(i)}: ${TITLES[message.event].toLowerCase()}`;
}

// ---------------------------------------------------------------------------------------------
// Webhook

/**
 * The state every webhook payload carries beside its type: `status` firing or resolved, and the
 * incident's group (null: not grouped; the field is there so receivers can rely on it).
 */
export function alertState(message: AlertMessage): { status: "firing" | "resolved"; group: AlertGroup | null } {
  const i = message.incident;
  const resolved = message.event === "incident.resolved" || i?.status === "resolved";
  const group = i?.group ? (scrubDeep(i.group) as AlertGroup) : null;
  return { status: resolved ? "resolved" : "firing", group };
}

/** A Standard Webhooks signed JSON event: `{"type", "timestamp", "data"}`, `data` the incident. */
export async function buildWebhookRequest(
  channel: StoredChannel,
  message: AlertMessage,
  nowMs = Date.now(),
): Promise<OutboundRequest> {
  if (!channel.secret) throw new Error("the webhook channel has no signing secret");
  const data =
    message.incident === null
      ? {
          test: true,
          message: scrubOutgoingText(`Test message from edge-monitor to channel "${channel.name}"`),
          channel_id: channel.id,
        }
      : { ...redactedIncident(message.incident), incident_url: incidentLink(message) };
  const body = JSON.stringify({ type: message.event, timestamp: iso(message.timestamp), ...alertState(message), data });
  const signed = await standardWebhookHeaders(channel.secret, message.id, body, nowMs);
  return { url: channel.url, headers: { ...JSON_HEADERS, ...signed }, body };
}

// ---------------------------------------------------------------------------------------------
// Slack

/** Slack mrkdwn needs &, < and > escaped in any text we did not write. */
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const mrkdwn = (text: string) => ({ type: "mrkdwn", text: cut(text, 2900) });
const field = (label: string, value: string) => ({ type: "mrkdwn", text: cut(`*${label}*\n${esc(value)}`, 1900) });
const bullets = (items: string[]) =>
  items
    .slice(0, 5)
    .map((s) => `• ${esc(cut(s, 400))}`)
    .join("\n");

/** The Slack Block Kit message (`text` is the notification fallback). */
export function slackMessage(message: AlertMessage, channelName = ""): { text: string; blocks: unknown[] } {
  if (message.incident === null) {
    const text = scrubOutgoingText(
      `Test message from edge-monitor${channelName ? ` to channel "${channelName}"` : ""}: alerts will arrive here.`,
    );
    return { text, blocks: [{ type: "section", text: mrkdwn(`:white_check_mark: ${esc(text)}`) }] };
  }
  const i = redactedIncident(message.incident);
  const resolved = message.event === "incident.resolved" || i.status === "resolved";
  const icon = resolved ? ":white_check_mark:" : i.severity === "CRITICAL" ? ":red_circle:" : ":large_orange_circle:";
  const f = keyFigures(i.figures);
  const openedSec = Math.floor(i.opened_at / 1000);
  const state = alertState(message);
  const blocks: unknown[] = [
    {
      type: "header",
      text: {
        type: "plain_text",
        text: cut(`${resolved ? "Resolved" : i.severity} · ${subjectOf(i)}`, 150),
        emoji: true,
      },
    },
    { type: "section", text: mrkdwn(`${icon} *${TITLES[message.event]}*`) },
    {
      type: "section",
      fields: [
        field("Severity", i.severity),
        field("Status", i.status),
        field(i.group ? "Endpoints" : "Endpoint", i.group ? memberLines(i.group, 10).join("\n") : endpointOf(i)),
        { type: "mrkdwn", text: `*Opened at*\n<!date^${openedSec}^{date_short_pretty} {time}|${iso(i.opened_at)}>` },
        field("Requests/min", f.rpm),
        field("5xx rate", f.errors),
        field("p95 latency", f.p95),
      ],
    },
    { type: "section", text: mrkdwn(`*What happened*\n${esc(cut(i.explanation, 2500))}`) },
  ];
  const ai = summaryOf(i);
  if (ai) {
    const parts = [`*AI summary*${i.ai_model ? ` (${esc(i.ai_model)})` : ""}\n${esc(cut(ai.summary, 1200))}`];
    if (ai.likely_causes.length > 0) parts.push(`*Likely causes*\n${bullets(ai.likely_causes)}`);
    if (ai.suggested_actions.length > 0) parts.push(`*Suggested actions*\n${bullets(ai.suggested_actions)}`);
    blocks.push({ type: "section", text: mrkdwn(parts.join("\n\n")) });
    blocks.push({
      type: "context",
      elements: [
        { type: "mrkdwn", text: "The AI summary explains; severity and status come from the monitor's rules." },
      ],
    });
  }
  // The alert's state and group, as the webhook carries them (`status`, `group`).
  const behind =
    i.group && spansServices(i.group)
      ? ` of ${i.group.services.join(", ")} behind origin ${i.group.origin ?? "?"}`
      : "";
  const groupText = i.group
    ? ` · group ${esc(i.group.id)} (${i.group.members.length} endpoints${esc(behind)}${i.group.origin_down ? ", origin down" : ""})`
    : "";
  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: `status: *${state.status}*${groupText}` }] });
  const link = incidentLink(message);
  if (link) {
    blocks.push({
      type: "actions",
      elements: [
        {
          type: "button",
          text: { type: "plain_text", text: "Open in dashboard" },
          url: cut(link, 3000),
          action_id: "open_incident",
        },
      ],
    });
  }
  return { text: headline(message, i), blocks };
}

/** The Slack incoming-webhook request. */
export function buildSlackRequest(channel: StoredChannel, message: AlertMessage): OutboundRequest {
  return { url: channel.url, headers: { ...JSON_HEADERS }, body: JSON.stringify(slackMessage(message, channel.name)) };
}

// ---------------------------------------------------------------------------------------------
// PagerDuty

/** A PagerDuty Events v2 event: trigger (or resolve) with the incident id as dedup key. */
export function pagerDutyEvent(routingKey: string, message: AlertMessage, channelName = "") {
  if (message.incident === null) {
    return {
      routing_key: routingKey,
      event_action: "trigger" as const,
      dedup_key: message.id,
      payload: {
        summary: scrubOutgoingText(
          `Test alert from edge-monitor${channelName ? ` (channel "${channelName}")` : ""}: resolve it in PagerDuty`,
        ),
        source: "edge-monitor",
        severity: "info" as const,
        timestamp: iso(message.timestamp),
      },
      client: "edge-monitor",
    };
  }
  const i = redactedIncident(message.incident);
  const ai = summaryOf(i);
  const link = incidentLink(message);
  const resolve = message.event === "incident.resolved" || i.status === "resolved";
  const state = alertState(message);
  return {
    routing_key: routingKey,
    event_action: resolve ? ("resolve" as const) : ("trigger" as const),
    // A group keeps one PagerDuty incident: its key, or its first member's when that alerted alone first.
    dedup_key: i.group ? i.group.dedup_id : i.id,
    payload: {
      summary: cut(headline(message, i), 1024),
      source: i.group ? (spansServices(i.group) ? `origin ${i.group.origin ?? "?"}` : i.service) : endpointOf(i),
      severity: i.severity === "CRITICAL" ? ("critical" as const) : ("warning" as const),
      timestamp: iso(message.timestamp),
      component: i.group ? memberLines(i.group, 5).join("; ") : `${i.method} ${i.route}`,
      group: i.group ? i.group.services.join(", ") : i.service,
      class: cut(
        (i.signals as { kind?: unknown }[])
          .map((s) => (typeof s.kind === "string" ? s.kind : ""))
          .filter(Boolean)
          .join(", ") || "incident",
        200,
      ),
      custom_details: {
        event: message.event,
        status: i.status,
        explanation: i.explanation,
        figures: i.figures,
        opened_at: iso(i.opened_at),
        ai_summary: ai
          ? {
              summary: ai.summary,
              likely_causes: ai.likely_causes,
              suggested_actions: ai.suggested_actions,
              model: i.ai_model,
            }
          : null,
        incident_url: link,
        // The alert's state and group, as the webhook carries them.
        alert_status: state.status,
        group: state.group,
      },
    },
    client: "edge-monitor",
    ...(link ? { client_url: link, links: [{ href: link, text: "Incident in edge-monitor" }] } : {}),
  };
}

/** The PagerDuty Events v2 request (the channel's secret is the routing key). */
export function buildPagerDutyRequest(channel: StoredChannel, message: AlertMessage): OutboundRequest {
  if (!channel.secret) throw new Error("the PagerDuty channel has no routing key");
  return {
    url: channel.url,
    headers: { ...JSON_HEADERS },
    body: JSON.stringify(pagerDutyEvent(channel.secret, message, channel.name)),
  };
}

/** The request for any channel type (webhooks are signed at `nowMs`, the attempt's time). */
export async function buildRequest(
  channel: StoredChannel,
  message: AlertMessage,
  nowMs = Date.now(),
): Promise<OutboundRequest> {
  switch (channel.type) {
    case "webhook":
      return buildWebhookRequest(channel, message, nowMs);
    case "slack":
      return buildSlackRequest(channel, message);
    case "pagerduty":
      return buildPagerDutyRequest(channel, message);
  }
}
