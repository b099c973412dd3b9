/**
 * Overview: the system's status, open incidents on top, services, and every endpoint in a
 * sortable, filterable table with a one-hour sparkline (requests and 5xx per minute, from the
 * endpoint object's minute buckets, loaded for the first rows shown).
 */
import { api } from "../api";
import { badge, h, labelled, notice, put, select } from "../dom";
import { formatAgo, formatCount, formatMs, formatPercent, formatRate } from "../format";
import type { Mount } from "../page";
import { endpointApiPath, endpointHash } from "../router";
import { fromWindow, sparkline } from "../series";
import { sparklineSvg, sparkPlaceholder } from "../sparkline";
import { filterRows, parseSort, sortRows, type SortKey } from "../table";
import type { EndpointDetail, EndpointRow, Incident, SystemHealth } from "../../../src/api-types";
import { endpointLabel, incidentItem, noDataYet, pool } from "./common";

const SPARK_ROWS = 40;

const COLUMNS: [SortKey, string][] = [
  ["service", "Service"],
  ["endpoint", "Endpoint"],
  ["health", "Health"],
  ["health_score", "Score"],
  ["rpm", "Req/min"],
  ["error_rate", "5xx"],
  ["p95", "p95"],
  ["silent", "Silent failures"],
  ["action", "Action"],
];

const NUMERIC = new Set<SortKey>(["health_score", "rpm", "error_rate", "p95", "silent"]);

export const overviewPage: Mount = (ctx) => {
  const query = { ...(ctx.route.page === "overview" ? ctx.route.query : {}) };
  let rows: EndpointRow[] = [];
  const sparks = new Map<string, { requests: number[]; errors: number[] }>();
  const systemBox = h("section", { class: "card", "aria-labelledby": "system-h" });
  const incidentsBox = h("section", { class: "card", "aria-labelledby": "open-h" });
  const servicesBox = h("section", { class: "card", "aria-labelledby": "services-h" });
  const tableBox = h("div");
  const countLine = h("p", { class: "muted", "aria-live": "polite" });
  const serviceFilter = select("service", [["", "All services"]], query.service, { id: "filter-service" });
  const healthFilter = select(
    "health",
    [
      ["", "Any health"],
      ["CRITICAL", "Critical"],
      ["WARNING", "Warning"],
      ["NORMAL", "Normal"],
    ],
    query.health,
    { id: "filter-health" },
  );
  const search = h("input", {
    type: "search",
    name: "q",
    id: "filter-q",
    value: query.q ?? "",
    placeholder: "service, method or route",
  });
  const key = (r: { service: string; method: string; route: string }) => `${r.service} ${r.method} ${r.route}`;

  const onFilter = () => {
    query.q = search.value;
    query.health = healthFilter.value;
    query.service = serviceFilter.value;
    ctx.setQuery(query);
    drawTable();
  };
  search.addEventListener("input", onFilter);
  healthFilter.addEventListener("change", onFilter);
  serviceFilter.addEventListener("change", onFilter);

  put(
    ctx.main,
    h("h1", null, "Overview"),
    systemBox,
    incidentsBox,
    servicesBox,
    h(
      "section",
      { class: "card", "aria-labelledby": "endpoints-h" },
      h("h2", { id: "endpoints-h" }, "Endpoints"),
      h(
        "form",
        { class: "filters", role: "search", onsubmit: (e: Event) => e.preventDefault() },
        labelled("Search", search),
        labelled("Service", serviceFilter),
        labelled("Health", healthFilter),
      ),
      countLine,
      tableBox,
    ),
  );

  function drawTable(): void {
    const { key: sortKey, dir } = parseSort(query.sort);
    const shown = sortRows(filterRows(rows, query), sortKey, dir);
    put(countLine, `${shown.length} of ${rows.length} endpoints`);
    if (rows.length === 0) return put(tableBox, h("p", { class: "muted" }, "No endpoint has been evaluated yet."));
    if (shown.length === 0) return put(tableBox, notice("info", "No endpoint matches these filters."));
    const header = COLUMNS.map(([k, label]) => {
      const active = k === sortKey;
      const next = active && dir === "desc" ? "asc" : "desc";
      return h(
        "th",
        {
          scope: "col",
          class: NUMERIC.has(k) ? "num" : null,
          "aria-sort": active ? (dir === "asc" ? "ascending" : "descending") : "none",
        },
        h(
          "button",
          {
            type: "button",
            class: "sort",
            "data-sort": k,
            onclick: () => {
              query.sort = `${k}:${next}`;
              ctx.setQuery(query);
              drawTable();
            },
          },
          label,
          active ? (dir === "asc" ? " ▲" : " ▼") : "",
        ),
      );
    });
    const body = shown.map((r) => {
      const s = sparks.get(key(r));
      const f = r.figures;
      return h(
        "tr",
        { class: `row-${r.health.toLowerCase()}` },
        h("td", null, r.service),
        h("td", null, h("a", { href: endpointHash(r) }, endpointLabel(r))),
        h("td", null, badge(r.health)),
        h("td", { class: "num" }, String(r.health_score)),
        h("td", { class: "num" }, formatRate(f.requests_per_minute)),
        h("td", { class: "num" }, formatPercent(f.error_rate)),
        h("td", { class: "num" }, formatMs(f.p95_ms)),
        h("td", { class: "num" }, formatPercent(f.silent_failure_rate)),
        h(
          "td",
          null,
          r.open_incident_id
            ? h("a", { href: `#/incidents/${encodeURIComponent(r.open_incident_id)}` }, r.action)
            : r.action,
        ),
        h(
          "td",
          null,
          s
            ? sparklineSvg(
                s.requests,
                s.errors,
                `Requests per minute over the last hour for ${key(r)}, peak ${Math.max(...s.requests)}`,
              )
            : sparkPlaceholder(),
        ),
      );
    });
    put(
      tableBox,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "endpoints" },
          h("caption", { class: "sr-only" }, "Endpoints, sortable by each column"),
          h("thead", null, h("tr", null, ...header, h("th", { scope: "col" }, "Last hour"))),
          h("tbody", null, ...body),
        ),
      ),
    );
  }

  async function loadSparks(list: EndpointRow[]): Promise<void> {
    const now = Date.now();
    await pool(list.slice(0, SPARK_ROWS), 4, async (r) => {
      const detail = await api<EndpointDetail>(endpointApiPath(r), { signal: ctx.signal });
      sparks.set(key(r), sparkline(detail.series.minutes.map(fromWindow), now, 60));
    });
  }

  return {
    async refresh() {
      const [system, list, open] = await Promise.all([
        api<SystemHealth>("/v1/health/system", { signal: ctx.signal }),
        api<{ endpoints: EndpointRow[] }>("/v1/endpoints", { signal: ctx.signal }),
        api<{ incidents: Incident[] }>("/v1/incidents?status=open&limit=50", { signal: ctx.signal }),
      ]);
      const now = Date.now();
      rows = list.endpoints;
      put(
        systemBox,
        h("h2", { id: "system-h" }, "System status"),
        rows.length === 0 ? noDataYet("endpoints") : null,
        h(
          "dl",
          { class: "kpis" },
          h("div", null, h("dt", null, "Status"), h("dd", null, badge(system.status))),
          h("div", null, h("dt", null, "Health score"), h("dd", null, String(system.health_score))),
          h(
            "div",
            null,
            h("dt", null, "Endpoints"),
            h(
              "dd",
              null,
              `${system.endpoints.total}`,
              h(
                "span",
                { class: "muted small" },
                ` (${system.endpoints.CRITICAL} critical, ${system.endpoints.WARNING} warning)`,
              ),
            ),
          ),
          h("div", null, h("dt", null, "Open incidents"), h("dd", null, String(system.open_incidents))),
          h("div", null, h("dt", null, "Events processed"), h("dd", null, formatCount(system.events_processed))),
          h("div", null, h("dt", null, "Last evaluation"), h("dd", null, formatAgo(system.evaluated_at, now))),
        ),
      );
      put(
        incidentsBox,
        h("h2", { id: "open-h" }, `Open incidents (${open.incidents.length})`),
        open.incidents.length
          ? h("ul", { class: "incident-list" }, ...open.incidents.map((i) => incidentItem(i, now)))
          : h("p", { class: "muted" }, "No open incidents."),
      );
      put(
        servicesBox,
        h("h2", { id: "services-h" }, "Services"),
        system.services.length
          ? h(
              "ul",
              { class: "services" },
              ...system.services.map((s) =>
                h(
                  "li",
                  null,
                  h(
                    "button",
                    { type: "button", class: "link", onclick: () => ((serviceFilter.value = s.service), onFilter()) },
                    s.service,
                  ),
                  " ",
                  badge(s.health),
                  h(
                    "span",
                    { class: "muted" },
                    ` score ${s.health_score}, ${s.endpoints} endpoint${s.endpoints === 1 ? "" : "s"}`,
                  ),
                ),
              ),
            )
          : h("p", { class: "muted" }, "No services yet."),
      );
      const services = [...new Set(rows.map((r) => r.service))].sort();
      put(
        serviceFilter,
        ...[["", "All services"], ...services.map((s) => [s, s])].map(([v, t]) =>
          h("option", { value: v ?? "", selected: v === (query.service ?? "") }, t ?? ""),
        ),
      );
      drawTable();
      const { key: sortKey, dir } = parseSort(query.sort);
      await loadSparks(sortRows(filterRows(rows, query), sortKey, dir));
      drawTable();
    },
  };
};
