/**
 * Incidents: the list (filters of GET /v1/incidents) and one incident: signals, the
 * deterministic explanation, the AI summary when there is one, evidence charts from the endpoint's
 * buckets around the incident, and the alert deliveries of the incident.
 */
import { api } from "../api";
import { timeChart, type Chart } from "../chart";
import { badge, field, h, labelled, notice, put, select } from "../dom";
import { formatDuration, formatMs, formatPercent, formatRate, formatTime } from "../format";
import type { Mount } from "../page";
import { endpointApiPath, endpointHash, formatHash } from "../router";
import { deployMarkers, fromWindow, HOUR, incidentSpans, maintenanceBands, MINUTE, onGrid, toColumns } from "../series";
import { contextLegend, loadServiceContext } from "./context";
import type { Delivery, EndpointDetail, Figures, Incident, IncidentGroup } from "../../../src/api-types";
import { foldGroups, groupLabel } from "../incident-groups";
import { endpointLabel, signalsTable } from "./common";

const FILTERS = ["status", "severity", "service", "limit"] as const;

export const incidentsPage: Mount = (ctx) => {
  const query = ctx.route.page === "incidents" ? ctx.route.query : {};
  const list = h("div");
  const form = h(
    "form",
    {
      class: "filters",
      role: "search",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const next: Record<string, string> = {};
        for (const f of FILTERS) if (field(form, f)) next[f] = field(form, f);
        location.hash = formatHash({ page: "incidents", query: next });
      },
    },
    labelled(
      "Status",
      select(
        "status",
        [
          ["", "Any"],
          ["open", "Open"],
          ["resolved", "Resolved"],
        ],
        query.status,
      ),
    ),
    labelled(
      "Severity",
      select(
        "severity",
        [
          ["", "Any"],
          ["CRITICAL", "Critical"],
          ["WARNING", "Warning"],
        ],
        query.severity,
      ),
    ),
    labelled("Service", h("input", { name: "service", value: query.service ?? "", placeholder: "any" })),
    labelled(
      "Limit",
      select(
        "limit",
        [
          ["100", "100"],
          ["500", "500"],
          ["1000", "1000"],
        ],
        query.limit ?? "100",
      ),
    ),
    h("button", { type: "submit" }, "Apply"),
  );
  put(ctx.main, h("h1", null, "Incidents"), h("section", { class: "card" }, form, list));
  return {
    async refresh() {
      const params = new URLSearchParams();
      for (const f of FILTERS) if (query[f]) params.set(f, query[f] ?? "");
      const { incidents, groups } = await api<{ incidents: Incident[]; groups?: IncidentGroup[] }>(
        `/v1/incidents?${params}`,
        { signal: ctx.signal },
      );
      const now = Date.now();
      if (incidents.length === 0)
        return put(
          list,
          notice(
            "info",
            Object.keys(query).length
              ? "No incident matches these filters."
              : "No incidents yet: they open when an endpoint's detectors agree that something is wrong.",
          ),
        );
      const entries = foldGroups(incidents, groups ?? []);
      const grouped = entries.filter((e) => e.kind === "group").length;
      put(
        list,
        h(
          "p",
          { class: "muted" },
          `${incidents.length} incident${incidents.length === 1 ? "" : "s"}${grouped ? ` (${grouped} group${grouped === 1 ? "" : "s"}: open a group's row for its endpoints)` : ""}, newest first`,
        ),
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "incidents" },
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                ...["Severity", "Status", "Endpoint", "Opened", "Duration", "Explanation"].map((c) =>
                  h("th", { scope: "col" }, c),
                ),
              ),
            ),
            h(
              "tbody",
              null,
              ...entries.flatMap((e) =>
                e.kind === "group" ? groupRows(e.group, e.members, now) : [incidentRow(e.incident, now)],
              ),
            ),
          ),
        ),
      );
    },
  };
};

function incidentRow(i: Incident, now: number, member = false): HTMLTableRowElement {
  return h(
    "tr",
    member ? { class: "group-member", "data-group": i.group_id ?? "", hidden: true } : null,
    h("td", null, badge(i.severity)),
    h(
      "td",
      null,
      i.status,
      i.in_maintenance
        ? h("span", { class: "badge badge-maintenance", title: "opened inside a maintenance window" }, "maintenance")
        : null,
    ),
    h(
      "td",
      null,
      h(
        "a",
        { href: formatHash({ page: "incident", id: i.id }), class: "incident-link" },
        `${i.service} ${endpointLabel(i)}`,
      ),
    ),
    h("td", { class: "time" }, formatTime(i.opened_at)),
    h("td", null, formatDuration((i.resolved_at ?? now) - i.opened_at)),
    h("td", { class: "explanation-cell" }, i.explanation),
  );
}

/** Groups opened in the list, kept open across the auto-refresh. */
const openGroups = new Set<string>();

/** A group as one row that opens to its members' rows (hidden until then). */
function groupRows(g: IncidentGroup, members: Incident[], now: number): HTMLTableRowElement[] {
  const rows = members.map((m) => incidentRow(m, now, true));
  const arrow = h("span", { "aria-hidden": "true" }, "▸ ");
  const show = (open: boolean) => {
    toggle.setAttribute("aria-expanded", String(open));
    arrow.textContent = open ? "▾ " : "▸ ";
    for (const r of rows) r.hidden = !open;
    if (open) openGroups.add(g.id);
    else openGroups.delete(g.id);
  };
  const toggle = h(
    "button",
    {
      type: "button",
      class: "group-toggle",
      "aria-expanded": "false",
      onclick: () => show(toggle.getAttribute("aria-expanded") !== "true"),
    },
    arrow,
    groupLabel(g),
  );
  const head = h(
    "tr",
    { class: "group-row", "data-group": g.id },
    h("td", null, badge(g.severity)),
    h(
      "td",
      null,
      g.status,
      h(
        "span",
        { class: "badge badge-group", title: "endpoints of one service that went bad together: one alert" },
        "group",
      ),
      g.origin_down
        ? h(
            "span",
            { class: "badge badge-critical badge-origin", title: "probes fail together with traffic" },
            "origin down",
          )
        : null,
    ),
    h("td", null, toggle),
    h("td", { class: "time" }, formatTime(g.opened_at)),
    h("td", null, formatDuration((g.resolved_at ?? now) - g.opened_at)),
    h("td", { class: "explanation-cell" }, g.explanation),
  );
  if (openGroups.has(g.id)) show(true);
  return [head, ...rows];
}

function figuresList(title: string, f: Figures): HTMLElement {
  return h(
    "div",
    null,
    h("h3", null, title),
    h(
      "dl",
      { class: "pairs" },
      ...(
        [
          ["Requests/min", formatRate(f.requests_per_minute)],
          ["5xx rate", formatPercent(f.error_rate)],
          ["4xx rate", formatPercent(f.client_error_rate)],
          ["Silent failures", formatPercent(f.silent_failure_rate)],
          ["p50 / p95 / p99", `${formatMs(f.p50_ms)} / ${formatMs(f.p95_ms)} / ${formatMs(f.p99_ms)}`],
        ] as const
      ).map(([k, v]) => h("div", null, h("dt", null, k), h("dd", null, v))),
    ),
  );
}

/** What maintenance and deploys say about the incident: held alerts, the deploy it followed. */
function contextNotes(i: Incident): HTMLElement | null {
  const notes: HTMLElement[] = [];
  if (i.in_maintenance) {
    const released = i.maintenance_released_at ?? null;
    notes.push(
      h(
        "p",
        { class: "maintenance-note" },
        h("span", { class: "badge badge-maintenance" }, "in maintenance"),
        ` Opened inside maintenance window ${i.maintenance_id ?? ""}: recorded without an alert${released !== null ? `; still open when the window ended, alerted at ${formatTime(released)}.` : i.status === "open" ? "; alerted if still open when the window ends." : "; resolved inside the window, never alerted."}`,
      ),
    );
  }
  if (i.deploy)
    notes.push(
      h(
        "p",
        { class: "deploy-note" },
        h("span", { class: "badge badge-deploy" }, "deploy"),
        ` Deploy ${i.deploy.version} at ${formatTime(i.deploy.at)}${i.deploy.description ? `: ${i.deploy.description}` : ""}.`,
      ),
    );
  return notes.length ? h("div", null, ...notes) : null;
}

/** The group the incident belongs to: its endpoints, each a link to its incident (one alert went for all). */
function groupNote(i: Incident): HTMLElement | null {
  const g = i.group;
  if (!g) return null;
  return h(
    "div",
    { class: "group-note" },
    h(
      "p",
      null,
      h("span", { class: "badge badge-group" }, "group"),
      ` ${groupLabel(g)}, ${g.status}: ${g.explanation} Its alerts went out once for the group.`,
    ),
    h(
      "ul",
      null,
      ...g.members.map((m) =>
        h(
          "li",
          null,
          h("a", { href: formatHash({ page: "incident", id: m.incident_id }) }, `${m.method} ${m.route}`),
          ` (${m.severity}, ${m.status})`,
        ),
      ),
    ),
  );
}

export const incidentPage: Mount = (ctx) => {
  if (ctx.route.page !== "incident") throw new Error("not an incident route");
  const id = ctx.route.id;
  let charts: Chart[] = [];
  ctx.onLeave(() => charts.forEach((c) => c.destroy()));
  return {
    async refresh() {
      const [i, deliveries] = await Promise.all([
        api<Incident>(`/v1/incidents/${encodeURIComponent(id)}`, { signal: ctx.signal }),
        api<{ deliveries: Delivery[] }>(`/v1/alert-deliveries?incident_id=${encodeURIComponent(id)}`, {
          signal: ctx.signal,
        }),
      ]);
      const detail = await api<EndpointDetail>(endpointApiPath(i), { signal: ctx.signal });
      const now = Date.now();
      const end = i.resolved_at ?? Math.max(i.last_event_at, detail.watermark ?? i.last_event_at);
      const from = i.opened_at - HOUR;
      // Half an hour after the end, but not past the newest data (an open incident ends now).
      const to = Math.min(end + 30 * MINUTE, Math.max(now, detail.watermark ?? 0));
      const minutesCover =
        detail.series.minutes.length > 0 &&
        (detail.series.minutes[0]?.start ?? Infinity) <= from &&
        to - from <= 6 * HOUR;
      const step = minutesCover ? MINUTE : HOUR;
      const grid = onGrid(
        (minutesCover ? detail.series.minutes : detail.series.hours).map(fromWindow),
        from,
        to,
        step,
        now,
      );
      const cols = toColumns(grid, step);
      const spans = incidentSpans([i], from, to);
      const context = await loadServiceContext(i.service, from, to, ctx.signal);
      const windows = maintenanceBands(context.windows, i, from, to);
      const markers = deployMarkers(context.deploys, i.service, from, to);
      charts.forEach((c) => c.destroy());
      charts = [
        timeChart(cols.x, {
          title: "Evidence: latency p50 / p95",
          unit: "ms",
          lines: [
            { label: "p50", values: cols.p50, color: "#2563eb" },
            { label: "p95", values: cols.p95, color: "#d97706" },
          ],
          spans,
          windows,
          markers,
          summary: "Latency around the incident.",
        }),
        timeChart(cols.x, {
          title: "Evidence: 5xx rate and silent failures (%)",
          unit: "%",
          lines: [
            { label: "5xx %", values: cols.rate5xx, color: "#dc2626" },
            { label: "silent %", values: cols.silentRate, color: "#b45309" },
          ],
          spans,
          windows,
          markers,
          summary: "Error and silent-failure rates around the incident.",
        }),
        timeChart(cols.x, {
          title: "Evidence: traffic",
          unit: "rpm",
          lines: [{ label: "req/min", values: cols.rpm, color: "#0f766e" }],
          spans,
          windows,
          markers,
          summary: "Requests per minute around the incident.",
        }),
      ];
      const ai = i.ai_summary;
      put(
        ctx.main,
        h("p", { class: "crumbs" }, h("a", { href: "#/incidents" }, "Incidents"), " / ", i.id),
        h("h1", null, badge(i.severity), " ", `${i.service} ${endpointLabel(i)}`),
        h(
          "section",
          { class: "card" },
          h(
            "dl",
            { class: "kpis" },
            h("div", null, h("dt", null, "Status"), h("dd", null, i.status)),
            h("div", null, h("dt", null, "Opened"), h("dd", null, formatTime(i.opened_at))),
            h(
              "div",
              null,
              h("dt", null, i.resolved_at ? "Resolved" : "Open for"),
              h("dd", null, i.resolved_at ? formatTime(i.resolved_at) : formatDuration(now - i.opened_at)),
            ),
            h("div", null, h("dt", null, "Escalated"), h("dd", null, formatTime(i.escalated_at))),
            h("div", null, h("dt", null, "Health score"), h("dd", null, String(i.health_score))),
            h("div", null, h("dt", null, "Action"), h("dd", null, i.action)),
          ),
          h("p", null, h("a", { href: endpointHash(i) }, "Open the endpoint's timelines")),
        ),
        h(
          "section",
          { class: "card", "aria-labelledby": "why-h" },
          h("h2", { id: "why-h" }, "Explanation"),
          h("p", { class: "explanation" }, i.explanation),
          contextNotes(i),
          groupNote(i),
        ),
        i.timeline && i.timeline.length > 0
          ? h(
              "section",
              { class: "card", "aria-labelledby": "timeline-h" },
              h(
                "h2",
                { id: "timeline-h" },
                i.reopened_count ? `Timeline (re-opened ${i.reopened_count}x)` : "Timeline",
              ),
              h(
                "ol",
                { class: "timeline" },
                ...i.timeline.map((e) =>
                  h(
                    "li",
                    null,
                    `${formatTime(e.at)}: ${e.change} (${e.severity})${e.signals.length ? `: ${e.signals.join(", ")}` : ""}`,
                  ),
                ),
              ),
            )
          : null,
        h(
          "section",
          { class: "card", "aria-labelledby": "ai-h" },
          h("h2", { id: "ai-h" }, "AI summary"),
          ai
            ? h(
                "div",
                null,
                h("p", null, ai.summary),
                ai.likely_causes.length
                  ? h(
                      "div",
                      null,
                      h("h3", null, "Likely causes"),
                      h("ul", null, ...ai.likely_causes.map((c) => h("li", null, c))),
                    )
                  : null,
                ai.suggested_actions.length
                  ? h(
                      "div",
                      null,
                      h("h3", null, "Suggested actions"),
                      h("ul", null, ...ai.suggested_actions.map((c) => h("li", null, c))),
                    )
                  : null,
                h(
                  "p",
                  { class: "hint" },
                  `Model ${i.ai_model ?? "?"}, confidence ${formatPercent(ai.confidence)}. Advisory only: severity and alerts never read it.`,
                ),
              )
            : h(
                "p",
                { class: "muted" },
                `No AI summary (${i.ai_status ?? "not requested"}${i.ai_error ? `: ${i.ai_error}` : ""}). The explanation above is deterministic.`,
              ),
        ),
        h(
          "section",
          { class: "card", "aria-labelledby": "sig-h" },
          h("h2", { id: "sig-h" }, "Signals"),
          signalsTable(i.signals),
        ),
        h(
          "section",
          { class: "card two-col" },
          figuresList("At opening", i.figures_at_open),
          figuresList(i.status === "open" ? "Now" : "Last", i.figures),
        ),
        contextLegend(windows, markers),
        h("div", { class: "charts" }, ...charts.map((c) => c.el)),
        h(
          "section",
          { class: "card", "aria-labelledby": "dlv-h" },
          h("h2", { id: "dlv-h" }, "Alert deliveries"),
          deliveries.deliveries.length
            ? h(
                "div",
                { class: "table-wrap" },
                h(
                  "table",
                  null,
                  h(
                    "thead",
                    null,
                    h(
                      "tr",
                      null,
                      ...["Time", "Event", "Channel", "Attempt", "Status", "Code", "Error", "Duration"].map((c) =>
                        h("th", { scope: "col" }, c),
                      ),
                    ),
                  ),
                  h(
                    "tbody",
                    null,
                    ...deliveries.deliveries.map((d) =>
                      h(
                        "tr",
                        null,
                        h("td", { class: "time" }, formatTime(d.at)),
                        h("td", null, d.event),
                        h("td", null, d.channel_id),
                        h("td", { class: "num" }, String(d.attempt)),
                        h(
                          "td",
                          null,
                          h(
                            "span",
                            {
                              class: `badge badge-${d.status === "delivered" ? "normal" : d.status === "skipped" ? "muted" : "critical"}`,
                            },
                            d.status,
                          ),
                        ),
                        h("td", { class: "num" }, d.response_code === null ? "–" : String(d.response_code)),
                        h("td", null, d.error ?? ""),
                        h("td", { class: "num" }, formatMs(d.duration_ms)),
                      ),
                    ),
                  ),
                ),
              )
            : h(
                "p",
                { class: "muted" },
                "No alert was sent for this incident (no matching channel, or the change was older than 30 minutes of event time).",
              ),
        ),
      );
    },
  };
};
