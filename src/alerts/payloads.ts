/**
 * What an alert looks like on each channel: a signed Standard Webhooks JSON event (here), a Slack
 * Block Kit message (slack.ts), a PagerDuty Events v2 event (pagerduty.ts). Pure builders (signing
 * aside, which is Web Crypto): they take a channel and a message and return the request to send.
 * Every piece of the incident goes through `scrubDeep` first (alert-message.ts), so no API key,
 * bearer token, cookie or card number that slipped into an explanation, a figure or an AI summary
 * can leave in a payload.
 */
import { scrubOutgoingText } from "../redact";
import {
  JSON_HEADERS,
  alertState,
  incidentLink,
  iso,
  redactedIncident,
  type AlertMessage,
  type OutboundRequest,
} from "./alert-message";
import type { StoredChannel } from "./channels";
import { buildPagerDutyRequest } from "./pagerduty";
import { standardWebhookHeaders } from "./sign";
import { buildSlackRequest } from "./slack";

export type { AlertEvent, AlertGroup, AlertMessage, ApiIncident, OutboundRequest } from "./alert-message";

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
