/**
 * Endpoint detail: health, signals, SLO and error budget, and drift timelines (latency
 * percentiles, 5xx and 4xx rates, traffic, silent failures) with the learnt baseline bands and
 * the endpoint's incidents shaded. 1 h and 6 h read the object's minute buckets; 24 h and 7 d
 * read hours (the object's 3 days, hourly summaries before that).
 */
import { ApiFailure, api } from "../api";
import { timeChart, type Chart } from "../chart";
import { badge, h, notice, put } from "../dom";
import { formatBurn, formatCount, formatMs, formatPercent, formatRate, formatTime } from "../format";
import type { Mount } from "../page";
import { endpointApiPath } from "../router";
import {
  deployMarkers,
  fromWindow,
  incidentSpans,
  maintenanceBands,
  mergeHourly,
  onGrid,
  parseRange,
  RANGES,
  rangeWindow,
  toColumns,
  totals,
  type RangeKey,
} from "../series";
import { contextLegend, loadServiceContext } from "./context";
import { DEFAULT_SLO, errorBudget } from "../slo";
import { surgeText } from "../surge";
import type { EndpointDetail, Signal, Slo, Summary } from "../../../src/api-types";
import { endpointLabel, incidentItem, signalsTable } from "./common";
import { breakdownSection, breakdownWindow, type BreakdownAnswer } from "./breakdown";

interface DetectionAnswer {
  settings: { slo?: Partial<Slo>; endpoints?: Record<string, { slo?: Partial<Slo> }> };
  defaults: { slo: Slo };
}

/** The endpoint's objectives: its override, the service's settings, the defaults (admin key only; else the built-in defaults). */
async function loadSlo(
  e: { service: string; method: string; route: string },
  admin: boolean,
  signal: AbortSignal,
): Promise<{ slo: Slo; source: string }> {
  if (!admin)
    return { slo: DEFAULT_SLO, source: "default objectives (sign in with the admin key to see the service's own)" };
  try {
    const d = await api<DetectionAnswer>(`/v1/services/${encodeURIComponent(e.service)}/detection`, { signal });
    const own = d.settings.endpoints?.[`${e.method} ${e.route}`]?.slo;
    return {
      slo: { ...d.defaults.slo, ...d.settings.slo, ...own },
      source: own ? "endpoint override" : d.settings.slo ? "service settings" : "default objectives",
    };
  } catch (err) {
    if (err instanceof ApiFailure && err.kind === "http") return { slo: DEFAULT_SLO, source: "default objectives" };
    throw err;
  }
}

export const endpointPage: Mount = (ctx) => {
  if (ctx.route.page !== "endpoint") throw new Error("not an endpoint route");
  const e = { service: ctx.route.service, method: ctx.route.method, route: ctx.route.route };
  const query = { ...ctx.route.query };
  let range: RangeKey = parseRange(query.range);
  let charts: Chart[] = [];
  ctx.onLeave(() => charts.forEach((c) => c.destroy()));

  const head = h("section", { class: "card" });
  const sloBox = h("section", { class: "card", "aria-labelledby": "slo-h" });
  const chartsBox = h("div", { class: "charts" });
  const contextBox = h("div", { class: "context" });
  const incidentsBox = h("section", { class: "card", "aria-labelledby": "inc-h" });
  const whoBox = h("section", { class: "card", "aria-labelledby": "who-h" });
  const rangeNote = h("p", { class: "muted", "aria-live": "polite" });
  const rangeButtons = (Object.keys(RANGES) as RangeKey[]).map((k) =>
    h(
      "button",
      {
        type: "button",
        "data-range": k,
        "aria-pressed": String(k === range),
        onclick: () => {
          range = k;
          query.range = k;
          ctx.setQuery(query);
          for (const b of rangeButtons) b.setAttribute("aria-pressed", String(b.dataset.range === k));
          void handle.refresh().catch(ctx.report);
        },
      },
      RANGES[k].label,
    ),
  );

  put(
    ctx.main,
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Overview"), " / ", e.service),
    h("h1", null, endpointLabel(e), h("span", { class: "muted" }, ` (${e.service})`)),
    head,
    h(
      "div",
      { class: "range", role: "group", "aria-label": "Time range" },
      h("span", null, "Range: "),
      ...rangeButtons,
      rangeNote,
    ),
    sloBox,
    contextBox,
    chartsBox,
    whoBox,
    incidentsBox,
  );

  const handle = {
    async refresh() {
      const now = Date.now();
      const [detail, slo] = await Promise.all([
        api<EndpointDetail>(endpointApiPath(e), { signal: ctx.signal }),
        loadSlo(e, ctx.session.role === "admin", ctx.signal),
      ]);
      const win = rangeWindow(range, now, detail.watermark);
      const step = RANGES[range].step;
      let points;
      if (step === RANGES["1h"].step) points = detail.series.minutes.map(fromWindow);
      else {
        const params = new URLSearchParams({
          service: e.service,
          method: e.method,
          route: e.route,
          granularity: "hour",
          from: String(win.from),
          to: String(win.to),
          limit: "5000",
        });
        const { summaries } = await api<{ summaries: Summary[] }>(`/v1/summaries?${params}`, { signal: ctx.signal });
        points = mergeHourly(detail.series.hours, summaries);
      }
      const [context, who] = await Promise.all([
        loadServiceContext(e.service, win.from, win.to, ctx.signal),
        api<BreakdownAnswer>(`${endpointApiPath(e)}/breakdown?window=${breakdownWindow(range)}`, {
          signal: ctx.signal,
        }),
      ]);
      put(whoBox, ...breakdownSection(who, RANGES[range].label));
      const windows = maintenanceBands(context.windows, e, win.from, win.to);
      const markers = deployMarkers(context.deploys, e.service, win.from, win.to);
      put(contextBox, contextLegend(windows, markers));
      // The bucket in progress is left out of the traffic line (only when the range ends now).
      const grid = onGrid(points, win.from, win.to, step, win.stale ? undefined : now);
      const cols = toColumns(grid, step);
      const sum = totals(grid);
      const state = detail.state;
      const b = state?.baselines;

      put(
        head,
        state
          ? h(
              "div",
              null,
              h(
                "dl",
                { class: "kpis" },
                h("div", null, h("dt", null, "Health"), h("dd", null, badge(state.health))),
                h("div", null, h("dt", null, "Health score"), h("dd", null, String(state.health_score))),
                h("div", null, h("dt", null, "Action"), h("dd", null, state.action)),
                h(
                  "div",
                  null,
                  h("dt", null, "Requests/min"),
                  h("dd", null, formatRate(state.figures.requests_per_minute)),
                ),
                h("div", null, h("dt", null, "5xx rate"), h("dd", null, formatPercent(state.figures.error_rate))),
                h("div", null, h("dt", null, "p95"), h("dd", null, formatMs(state.figures.p95_ms))),
                h(
                  "div",
                  null,
                  h("dt", null, "Silent failures"),
                  h("dd", null, formatPercent(state.figures.silent_failure_rate)),
                ),
                h("div", null, h("dt", null, "Newest record"), h("dd", null, formatTime(detail.watermark))),
              ),
              b?.objective?.slower_than_default_objective
                ? h(
                    "p",
                    { class: "hint" },
                    `Slower than the default objective: this endpoint's own level is past ${formatMs(slo.slo.latency_ms)} for ${formatPercent(slo.slo.latency_target)} (or a p95 of 2 s), so its objectives are learnt from its history${b.objective.latency_ms === null ? " (still learning)" : ` (${formatMs(b.objective.latency_ms)} for the latency objective, ${formatMs(b.objective.p95_ms)} for p95)`} and its steady state never opens an incident. Set an SLO to make it absolute.`,
                  )
                : null,
              surgeHint(state.signals),
              state.open_incident_id
                ? h(
                    "p",
                    null,
                    "Open incident: ",
                    h(
                      "a",
                      { href: `#/incidents/${encodeURIComponent(state.open_incident_id)}` },
                      state.open_incident_id,
                    ),
                  )
                : null,
              h("h2", null, "Active signals"),
              signalsTable(state.signals),
            )
          : notice("info", `No record of ${e.service} ${endpointLabel(e)} has been evaluated yet.`),
      );

      put(
        rangeNote,
        win.stale
          ? ` No records in the last ${RANGES[range].label}: showing the ${RANGES[range].label} up to the newest record (${formatTime(detail.watermark)}).`
          : ` ${formatTime(win.from)} – ${formatTime(win.to)}, ${step === 60_000 ? "minute" : "hour"} buckets.`,
      );

      const budget = errorBudget(sum.requests, sum.s5xx, slo.slo.availability);
      put(
        sloBox,
        h("h2", { id: "slo-h" }, `SLO and error budget (${RANGES[range].label})`),
        h(
          "dl",
          { class: "kpis" },
          h("div", null, h("dt", null, "Availability objective"), h("dd", null, formatPercent(slo.slo.availability))),
          h(
            "div",
            null,
            h("dt", null, "Availability"),
            h("dd", { class: budget.met === false ? "bad" : "" }, formatPercent(budget.availability)),
          ),
          h(
            "div",
            null,
            h("dt", null, "Error budget left"),
            h("dd", { class: budget.met === false ? "bad" : "" }, formatPercent(budget.remaining)),
          ),
          h(
            "div",
            null,
            h("dt", null, "5xx / allowed"),
            h("dd", null, `${formatCount(sum.s5xx)} / ${formatCount(Math.floor(budget.allowed))}`),
          ),
          h(
            "div",
            null,
            h("dt", null, "Availability burn (1 h)"),
            h("dd", null, formatBurn(state?.figures.availability_burn_1h)),
          ),
          h(
            "div",
            null,
            h(
              "dt",
              null,
              `Latency burn (1 h, ${formatMs(slo.slo.latency_ms)} for ${formatPercent(slo.slo.latency_target)})`,
            ),
            h("dd", null, formatBurn(state?.figures.latency_burn_1h)),
          ),
        ),
        h(
          "p",
          { class: "hint" },
          `${formatCount(sum.requests)} requests in range; ${slo.source}. A burn rate of 1x spends the budget exactly over the SLO period.`,
        ),
      );

      charts.forEach((c) => c.destroy());
      const spans = incidentSpans(detail.incidents, win.from, win.to);
      const last = (v: (number | null)[]) => [...v].reverse().find((x) => x !== null) ?? null;
      const band = (x: { low: number; high: number } | null | undefined, label: string) =>
        x ? { low: x.low, high: x.high, label } : null;
      charts = [
        timeChart(cols.x, {
          title: "Latency p50 / p95 / p99",
          unit: "ms",
          lines: [
            { label: "p50", values: cols.p50, color: "#2563eb" },
            { label: "p95", values: cols.p95, color: "#d97706" },
            { label: "p99", values: cols.p99, color: "#dc2626", dash: [5, 3] },
          ],
          band: band(b?.p95_ms, "p95 baseline"),
          spans,
          windows,
          markers,
          summary: `Latest p95 ${formatMs(last(cols.p95))}; p95 baseline ${b?.p95_ms ? `${formatMs(b.p95_ms.low)} to ${formatMs(b.p95_ms.high)}` : "not learnt yet"}.`,
        }),
        timeChart(cols.x, {
          title: "5xx and 4xx rate",
          unit: "%",
          lines: [
            { label: "5xx %", values: cols.rate5xx, color: "#dc2626" },
            { label: "4xx %", values: cols.rate4xx, color: "#7c3aed" },
          ],
          band:
            b?.error_rate !== undefined && b.error_rate !== null
              ? { low: 0, high: b.error_rate * 100, label: "usual 5xx" }
              : null,
          spans,
          windows,
          markers,
          summary: `Latest 5xx rate ${formatPercent((last(cols.rate5xx) ?? NaN) / 100)}, usual ${formatPercent(b?.error_rate)}.`,
        }),
        timeChart(cols.x, {
          title: "Traffic (requests/min)",
          unit: "rpm",
          lines: [{ label: "req/min", values: cols.rpm, color: "#0f766e" }],
          band: band(b?.requests_per_minute, "expected"),
          spans,
          windows,
          markers,
          summary: `Latest ${formatRate(last(cols.rpm))}, expected ${b?.requests_per_minute ? `${formatRate(b.requests_per_minute.low)} to ${formatRate(b.requests_per_minute.high)}` : "not learnt yet"}.`,
        }),
        timeChart(cols.x, {
          title: "Silent failures (empty 2xx, %)",
          unit: "%",
          lines: [{ label: "silent %", values: cols.silentRate, color: "#b45309" }],
          spans,
          windows,
          markers,
          summary: `Latest silent-failure rate ${formatPercent((last(cols.silentRate) ?? NaN) / 100)}; ${formatCount(sum.silent)} in range.`,
        }),
      ];
      put(chartsBox, ...charts.map((c) => c.el));

      put(
        incidentsBox,
        h("h2", { id: "inc-h" }, "Incidents of this endpoint"),
        detail.incidents.length
          ? h("ul", { class: "incident-list" }, ...detail.incidents.map((i) => incidentItem(i, now)))
          : h("p", { class: "muted" }, "None recorded."),
      );
    },
  };
  return handle;
};

/** A traffic surge on the endpoint now: shown, and named in an incident only with trouble at the same time. */
function surgeHint(signals: Signal[]): HTMLElement | null {
  const text = surgeText(signals);
  return text === null ? null : h("p", { class: "hint" }, text);
}
