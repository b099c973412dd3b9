/**
 * An alert as a Slack Block Kit message for an incoming webhook: header, key fields, what
 * happened, the AI summary when there is one, the state and group, and a dashboard button. Pure;
 * the incident is scrubbed (`redactedIncident`) before any of it is written.
 */
import { scrubOutgoingText } from "../redact";
import {
  JSON_HEADERS,
  TITLES,
  alertState,
  cut,
  endpointOf,
  headline,
  incidentLink,
  iso,
  keyFigures,
  memberLines,
  redactedIncident,
  spansServices,
  subjectOf,
  summaryOf,
  type AlertMessage,
  type OutboundRequest,
} from "./alert-message";
import type { StoredChannel } from "./channels";

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
