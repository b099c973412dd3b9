/** Pieces several pages share: the "no data yet" curl line, incident rows, signal tables. */
import { API_BASE } from "../api";
import { badge, h } from "../dom";
import { formatAgo, formatDuration, formatKind, formatSignalValue, formatTime } from "../format";
import { endpointHash, formatHash } from "../router";
import type { Incident, Signal } from "../../../src/api-types";

/** A curl line that sends one log to this monitor (the ingest key is the user's). */
export function curlExample(): string {
  return [
    `curl -s -X POST ${API_BASE}/v1/logs \\`,
    `  -H 'Authorization: Bearer <your ingest key>' -H 'Content-Type: application/json' \\`,
    `  -d '{"timestamp": '"$(date +%s000)"', "service": "shop", "method": "GET", "path": "/orders/42", "status": 200, "latency_ms": 42}'`,
  ].join("\n");
}

export function noDataYet(what: string): HTMLElement {
  return h(
    "div",
    { class: "notice notice-info empty", role: "status" },
    h(
      "p",
      null,
      h("strong", null, `No ${what} yet.`),
      " Send a log with curl (npm start prints the ingest key; dev-ingest-key by default):",
    ),
    h("pre", { class: "curl" }, h("code", null, curlExample())),
    h(
      "p",
      null,
      "Endpoints appear once their first minute has been evaluated (about a minute after the first record).",
    ),
  );
}

export function endpointLabel(e: { method: string; route: string }): string {
  return `${e.method} ${e.route}`;
}

export function endpointLink(e: { service: string; method: string; route: string }): HTMLAnchorElement {
  return h("a", { href: endpointHash(e) }, h("span", { class: "muted" }, `${e.service} `), endpointLabel(e));
}

/** One line per incident: severity, endpoint, since when, the explanation's first sentence. */
export function incidentItem(i: Incident, now: number): HTMLLIElement {
  const span =
    i.resolved_at !== null
      ? `lasted ${formatDuration(i.resolved_at - i.opened_at)}`
      : `open for ${formatDuration(now - i.opened_at)}`;
  return h(
    "li",
    { class: `incident-item incident-${i.severity.toLowerCase()}` },
    badge(i.severity),
    " ",
    h("a", { href: formatHash({ page: "incident", id: i.id }) }, `${i.service} ${endpointLabel(i)}`),
    h("span", { class: "muted" }, ` opened ${formatAgo(i.opened_at, now)} (${formatTime(i.opened_at)}), ${span}`),
    i.in_maintenance ? h("span", { class: "badge badge-maintenance" }, "maintenance") : null,
    h("p", { class: "explanation" }, i.explanation),
  );
}

export function signalsTable(signals: Signal[]): HTMLElement {
  if (signals.length === 0) return h("p", { class: "muted" }, "No active signals.");
  const cols = ["Signal", "Family", "Level", "Observed", "Peak", "Baseline", "Threshold", "Window", "Since"];
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      null,
      h("thead", null, h("tr", null, ...cols.map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        null,
        ...signals.map((s) =>
          h(
            "tr",
            null,
            h(
              "td",
              null,
              s.consumer === undefined
                ? formatKind(s.kind)
                : `${formatKind(s.kind)}: ${s.consumer} (${formatKind(s.objective ?? "")})`,
            ),
            h("td", null, s.family),
            h("td", null, s.level),
            h("td", { class: "num" }, formatSignalValue(s.observed, s.unit)),
            h("td", { class: "num" }, formatSignalValue(s.peak, s.unit)),
            h("td", { class: "num" }, formatSignalValue(s.baseline, s.unit)),
            h("td", { class: "num" }, formatSignalValue(s.threshold, s.unit)),
            h("td", null, s.window),
            h("td", null, s.first_event_at ? formatTime(s.first_event_at) : "–"),
          ),
        ),
      ),
    ),
  );
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
