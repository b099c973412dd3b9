/**
 * An alert message and what every channel's payload shares: the event's title, the incident
 * scrubbed of secrets (`scrubDeep`), its dashboard link, key figures, subject and headline, and
 * the firing/resolved state with the group. Pure; the per-channel builders are payloads.ts
 * (webhook, and the dispatch by channel type), slack.ts and pagerduty.ts.
 */
import * as z from "zod";
import type { ApiGroup } from "../incidents/group-store";
import type { toApiIncident } from "../incidents/api-incident";
import { scrubDeep } from "../redact";

/** What an alert announces: a change of an incident, or a channel's test message. */
export type AlertEvent =
  "incident.opened" | "incident.escalated" | "incident.resolved" | "incident.updated" | "incident.reminder" | "test";
/** An incident as the API shows it; a group's alert adds the group (its members, origin_down, the PagerDuty dedup key as `dedup_id`). */
export type ApiIncident = ReturnType<typeof toApiIncident> & { group?: AlertGroup };
/** A group as an alert carries it, with the PagerDuty dedup key its alerts share. */
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

/** The HTTP request that delivers an alert to a channel (always a JSON POST). */
export interface OutboundRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const USER_AGENT = "edge-monitor-alerts/1";
/** The headers of every alert request. */
export const JSON_HEADERS = { "content-type": "application/json", "user-agent": USER_AGENT };

const aiSummary = z.object({
  summary: z.string(),
  likely_causes: z.array(z.string()).catch([]),
  suggested_actions: z.array(z.string()).catch([]),
  confidence: z.number().nullish(),
});
type AiSummary = z.output<typeof aiSummary>;

/** The title of each event, as chat messages and headlines show it. */
export const TITLES: Record<AlertEvent, string> = {
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

/** The incident's AI summary when it has a readable one, or null. */
export function summaryOf(incident: ApiIncident): AiSummary | null {
  const parsed = aiSummary.safeParse(incident.ai_summary);
  return parsed.success ? parsed.data : null;
}

function figure(figures: unknown, name: string): number | null {
  if (figures === null || typeof figures !== "object") return null;
  const v = (figures as Record<string, unknown>)[name];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** Key figures as short text: requests/min, 5xx rate, p95. */
export function keyFigures(figures: unknown): { rpm: string; errors: string; p95: string } {
  const rpm = figure(figures, "requests_per_minute");
  const err = figure(figures, "error_rate");
  const p95 = figure(figures, "p95_ms");
  return {
    rpm: rpm === null ? "n/a" : rpm >= 100 ? rpm.toFixed(0) : rpm.toFixed(1),
    errors: err === null ? "n/a" : `${(err * 100).toFixed(err < 0.01 ? 2 : 1)}%`,
    p95: p95 === null ? "n/a" : `${p95.toFixed(0)} ms`,
  };
}

/** The endpoint as `service METHOD route`. */
export const endpointOf = (i: ApiIncident) => `${i.service} ${i.method} ${i.route}`;
/** The text cut to `max` characters (an ellipsis marks a cut). */
export const cut = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);
/** A time (ms) as ISO 8601. */
export const iso = (ms: number) => new Date(ms).toISOString();

/** Whether the group holds endpoints of several services (behind one origin). */
export const spansServices = (g: AlertGroup) => g.services.length > 1;

/** What the alert is about: the endpoint, or the group's service (or origin and services) and how many endpoints. */
export function subjectOf(i: ApiIncident): string {
  if (!i.group) return endpointOf(i);
  const down = i.group.origin_down ? " (origin down)" : "";
  if (spansServices(i.group))
    return `origin ${i.group.origin ?? "?"}: ${i.group.members.length} endpoints of ${i.group.services.join(", ")}${down}`;
  return `${i.service}: ${i.group.members.length} endpoints${down}`;
}

/** The group's members, one line each (at most `max`); each names its service when the group spans several. */
export function memberLines(group: AlertGroup, max: number): string[] {
  const prefix = (m: AlertGroup["members"][number]) => (spansServices(group) ? `${m.service} ` : "");
  const lines = group.members
    .slice(0, max)
    .map((m) => `${prefix(m)}${m.method} ${m.route} (${m.severity}, ${m.status})`);
  if (group.members.length > max) lines.push(`and ${group.members.length - max} more`);
  return lines;
}

/** One line for a chat title or a PagerDuty summary. */
export function headline(message: AlertMessage, i: ApiIncident): string {
  const state = message.event === "incident.resolved" || i.status === "resolved" ? "RESOLVED" : i.severity;
  return `[${state}] ${subjectOf(i)}: ${TITLES[message.event].toLowerCase()}`;
}

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
