/**
 * Logs explorer: every filter of GET /v1/logs, keyset pages (older with next_cursor, back through
 * the cursors already followed), a live tail polling GET /v1/logs/live every 2 s (the filters it
 * can check apply to it too), and a record's every field in a dialog.
 */
import { api } from "../api";
import { field, h, labelled, notice, put, select } from "../dom";
import { formatMs, formatTime } from "../format";
import { filtersFromQuery, LOG_FILTERS, logsPath, matchesFilters, newRecords, type LogFilters } from "../logs-query";
import type { Mount } from "../page";
import { formatHash } from "../router";
import type { LogRecord } from "../../../src/api-types";
import { noDataYet } from "./common";

const LIVE_MS = 2000;
const LIVE_KEEP = 200;

function toLocalInput(value: string | undefined): string {
  if (!value) return "";
  const t = /^\d+$/.test(value) ? Number(value) : new Date(value).getTime();
  if (!Number.isFinite(t)) return value;
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}

function recordDialog(r: LogRecord): HTMLDialogElement {
  const dialog = h(
    "dialog",
    { class: "record", "aria-labelledby": "record-h" },
    h("h2", { id: "record-h" }, `${r.method} ${r.path} → ${r.status}`),
    h(
      "dl",
      { class: "pairs" },
      ...Object.entries(r).map(([k, v]) =>
        h("div", null, h("dt", null, k), h("dd", null, typeof v === "string" ? v : JSON.stringify(v))),
      ),
    ),
    h("form", { method: "dialog" }, h("button", { type: "submit", class: "primary" }, "Close")),
  );
  dialog.addEventListener("close", () => dialog.remove());
  return dialog;
}

function logsTable(records: LogRecord[], caption: string): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "logs" },
      h("caption", { class: "sr-only" }, caption),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          ...["Time", "Service", "Method", "Route", "Path", "Status", "Latency", "Error"].map((c) =>
            h("th", { scope: "col" }, c),
          ),
        ),
      ),
      h(
        "tbody",
        null,
        ...records.map((r) =>
          h(
            "tr",
            { class: r.status >= 500 ? "row-critical" : r.response_empty ? "row-warning" : "" },
            h(
              "td",
              { class: "time" },
              h(
                "button",
                {
                  type: "button",
                  class: "link record-open",
                  "aria-label": `Details of the ${r.method} ${r.path} record at ${formatTime(r.timestamp)}`,
                  onclick: () => {
                    const d = recordDialog(r);
                    document.body.appendChild(d);
                    d.showModal();
                  },
                },
                formatTime(r.timestamp),
              ),
            ),
            h("td", null, r.service),
            h("td", null, r.method),
            h("td", null, r.route),
            h("td", { class: "path" }, r.path),
            h("td", { class: "num" }, String(r.status), r.response_empty ? " (empty)" : ""),
            h("td", { class: "num" }, formatMs(r.latency_ms)),
            h("td", { class: "error-cell" }, r.error ?? ""),
          ),
        ),
      ),
    ),
  );
}

export const logsPage: Mount = (ctx) => {
  const filters: LogFilters = filtersFromQuery(ctx.route.page === "logs" ? ctx.route.query : {});
  const cursors: (string | null)[] = [null];
  let page = 0;
  let nextCursor: string | null = null;
  let liveTimer: ReturnType<typeof setInterval> | null = null;
  const seen = new Set<string>();
  let live: LogRecord[] = [];
  ctx.onLeave(() => liveTimer !== null && clearInterval(liveTimer));

  const results = h("div");
  const pager = h("div", { class: "pager" });
  const liveBox = h("div", { "aria-live": "off" });
  const liveToggle = h("input", { type: "checkbox", id: "live-tail" });
  const input = (name: string, attrs: Record<string, string> = {}) =>
    h("input", { name, id: `log-${name}`, value: filters[name as keyof LogFilters] ?? "", ...attrs });
  const form = h(
    "form",
    {
      class: "filters",
      role: "search",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const next: Record<string, string> = {};
        for (const name of LOG_FILTERS) if (field(form, name)) next[name] = field(form, name);
        location.hash = formatHash({ page: "logs", query: next });
      },
    },
    labelled("Service", input("service", { placeholder: "any" })),
    labelled(
      "Method",
      select(
        "method",
        [
          ["", "Any"],
          ...["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"].map((m): [string, string] => [m, m]),
        ],
        filters.method,
        { id: "log-method" },
      ),
    ),
    labelled("Route", input("route", { placeholder: "/orders/:id" })),
    labelled("Status", input("status", { placeholder: "503 or 5xx", pattern: "[1-5]([0-9]{2}|xx)" })),
    labelled("From", input("from", { type: "datetime-local", step: "1", value: toLocalInput(filters.from) })),
    labelled("To", input("to", { type: "datetime-local", step: "1", value: toLocalInput(filters.to) })),
    labelled("Min latency (ms)", input("min_latency_ms", { type: "number", min: "0", inputmode: "numeric" })),
    labelled("Error contains", input("q", { type: "search" })),
    labelled(
      "Page size",
      select(
        "limit",
        [
          ["100", "100"],
          ["50", "50"],
          ["500", "500"],
          ["1000", "1000"],
        ],
        filters.limit ?? "100",
        { id: "log-limit" },
      ),
    ),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Search"),
      h("a", { href: "#/logs", class: "button" }, "Clear"),
    ),
  );

  async function loadPage(): Promise<void> {
    const answer = await api<{ logs: LogRecord[]; next_cursor: string | null }>(
      logsPath(filters, cursors[page] ?? null),
      { signal: ctx.signal },
    );
    nextCursor = answer.next_cursor;
    const anyFilter = Object.keys(filters).some((k) => k !== "limit");
    if (answer.logs.length === 0)
      put(results, page === 0 && !anyFilter ? noDataYet("logs") : notice("info", "No record matches these filters."));
    else
      put(
        results,
        h("p", { class: "muted" }, `Page ${page + 1}: ${answer.logs.length} records, newest first`),
        logsTable(answer.logs, "Log records"),
      );
    put(
      pager,
      h(
        "button",
        { type: "button", disabled: page === 0, onclick: () => ((page = 0), void loadPage().catch(ctx.report)) },
        "First page",
      ),
      h(
        "button",
        { type: "button", disabled: page === 0, onclick: () => ((page -= 1), void loadPage().catch(ctx.report)) },
        "Newer",
      ),
      h(
        "button",
        {
          type: "button",
          id: "logs-older",
          disabled: nextCursor === null,
          onclick: () => {
            cursors[page + 1] = nextCursor;
            page += 1;
            void loadPage().catch(ctx.report);
          },
        },
        "Older",
      ),
    );
  }

  async function poll(): Promise<void> {
    const { logs } = await api<{ logs: LogRecord[] }>("/v1/logs/live?limit=100", { signal: ctx.signal });
    const fresh = newRecords(logs, seen).filter((r) => matchesFilters(r, filters));
    for (const r of logs) seen.add(r.log_id);
    live = [...fresh, ...live].slice(0, LIVE_KEEP);
    put(
      liveBox,
      h("p", { class: "muted" }, `Live: ${live.length} records shown, polled ${formatTime(Date.now(), true)}`),
      live.length ? logsTable(live, "Live tail") : notice("info", "Waiting for new records…"),
    );
  }

  liveToggle.addEventListener("change", () => {
    if (liveTimer !== null) clearInterval(liveTimer);
    liveTimer = null;
    if (!liveToggle.checked) return put(liveBox);
    seen.clear();
    live = [];
    void poll().catch(ctx.report);
    liveTimer = setInterval(() => void poll().catch(ctx.report), LIVE_MS);
  });

  put(
    ctx.main,
    h("h1", null, "Logs"),
    h("section", { class: "card" }, form),
    h(
      "section",
      { class: "card", "aria-labelledby": "live-h" },
      h("h2", { id: "live-h" }, "Live tail"),
      h("label", { class: "inline" }, liveToggle, " Follow new records (polls every 2 s)"),
      liveBox,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "results-h" },
      h("h2", { id: "results-h" }, "Records"),
      results,
      pager,
    ),
  );

  return {
    // Auto-refresh reloads the page being read; the live tail has its own clock.
    refresh: loadPage,
  };
};
