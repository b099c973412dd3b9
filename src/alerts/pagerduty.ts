/**
 * An alert as a PagerDuty Events v2 event: trigger or resolve, deduplicated by the incident (or
 * its group's key, so a group pages once), with the scrubbed incident in `custom_details`. Pure.
 */
import { scrubOutgoingText } from "../redact";
import {
  JSON_HEADERS,
  alertState,
  cut,
  endpointOf,
  headline,
  incidentLink,
  iso,
  memberLines,
  redactedIncident,
  spansServices,
  summaryOf,
  type AlertMessage,
  type OutboundRequest,
} from "./alert-message";
import type { StoredChannel } from "./channels";

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
