/**
 * The dashboard shell: sign-in, the header (navigation, last update, auto-refresh, sign-out),
 * hash routing to the pages, and one place where failures become messages: a refused key sends
 * the user back to sign-in with the API's reason, an unreachable API shows a banner and the page
 * keeps its last data until the next refresh succeeds.
 */
import "./style.css";
import { API_BASE, ApiFailure, api, describeFailure } from "./api";
import { clearSession, getSession, saveSession, type Role, type Session } from "./auth";
import { benchChart } from "./chart";
import { formatTime } from "./format";
import { h, notice, put } from "./dom";
import type { Mount, PageContext, PageHandle } from "./page";
import { endpointPage } from "./pages/endpoint";
import { incidentPage, incidentsPage } from "./pages/incidents";
import { logsPage } from "./pages/logs";
import { overviewPage } from "./pages/overview";
import { settingsPage } from "./pages/settings";
import { formatHash, parseHash, type Route } from "./router";

const REFRESH_MS = 30_000;

const root = document.getElementById("app") ?? document.body;
const notices = h("div", { id: "notices", "aria-live": "polite" });
const updated = h("span", { id: "last-updated" }, "Not loaded yet");
const autoToggle = h("input", { type: "checkbox", id: "auto-refresh", checked: true });
const main = h("main", { id: "main", tabindex: "-1" });

interface Mounted {
  handle: PageHandle;
  leave: () => void;
}

let current: Mounted | null = null;
let inFlight: Mounted | null = null;

function pageFor(route: Route): Mount {
  switch (route.page) {
    case "overview":
      return overviewPage;
    case "endpoint":
      return endpointPage;
    case "incidents":
      return incidentsPage;
    case "incident":
      return incidentPage;
    case "logs":
      return logsPage;
    case "settings":
      return settingsPage;
    case "not-found":
      return (ctx) => ({
        async refresh() {
          put(
            ctx.main,
            h("h1", null, "Page not found"),
            notice("info", `Nothing lives at #${route.path}. `, h("a", { href: "#/" }, "Go to the overview")),
          );
        },
      });
  }
}

function report(err: unknown): void {
  if (err instanceof DOMException && err.name === "AbortError") return;
  if (err instanceof ApiFailure && err.kind === "unauthorized") {
    signOut(describeFailure(err));
    return;
  }
  if (!(err instanceof ApiFailure)) console.warn(err);
  if (updated.textContent?.startsWith("Updated") && !updated.textContent.includes("failed"))
    updated.append(" · last refresh failed");
  put(
    notices,
    notice(
      "error",
      describeFailure(err),
      " ",
      h("button", { type: "button", class: "link", onclick: () => void refresh() }, "Retry now"),
    ),
  );
}

async function refresh(auto = false): Promise<void> {
  const page = current;
  // One refresh per page at a time; a page mounted meanwhile gets its own at once.
  if (!page || inFlight === page || (auto && page.handle.auto === false)) return;
  inFlight = page;
  main.setAttribute("aria-busy", "true");
  try {
    await page.handle.refresh();
    if (page !== current) return;
    notices.replaceChildren();
    put(updated, `Updated ${formatTime(Date.now(), true)}`);
    // Which view finished loading (tests and scripts wait for it).
    main.dataset.ready = location.hash;
  } catch (err) {
    if (page === current) report(err);
  } finally {
    if (inFlight === page) {
      inFlight = null;
      main.removeAttribute("aria-busy");
    }
  }
}

function mountRoute(session: Session): void {
  current?.leave();
  const route = parseHash(location.hash);
  const controller = new AbortController();
  const leaves: (() => void)[] = [];
  const ctx: PageContext = {
    route,
    main,
    session,
    signal: controller.signal,
    onLeave: (fn) => leaves.push(fn),
    setQuery: (query) => {
      const next = { ...route, query } as Route;
      history.replaceState(null, "", formatHash(next));
    },
    report,
  };
  delete main.dataset.ready;
  main.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  for (const a of document.querySelectorAll<HTMLAnchorElement>("nav a")) {
    const active = a.dataset.page === route.page || (a.dataset.page === "incidents" && route.page === "incident");
    if (active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const handle = pageFor(route)(ctx);
  current = {
    handle,
    leave: () => {
      controller.abort();
      for (const fn of leaves) fn();
    },
  };
  void refresh();
}

function shell(session: Session): void {
  const nav = h(
    "nav",
    { "aria-label": "Pages" },
    h("a", { href: "#/", "data-page": "overview" }, "Overview"),
    h("a", { href: "#/incidents", "data-page": "incidents" }, "Incidents"),
    h("a", { href: "#/logs", "data-page": "logs" }, "Logs"),
    h("a", { href: "#/settings", "data-page": "settings" }, "Settings"),
  );
  autoToggle.onchange = () => {
    if (autoToggle.checked) void refresh();
  };
  put(
    root,
    h(
      "a",
      { class: "skip", href: "#main", onclick: (e: Event) => (e.preventDefault(), main.focus()) },
      "Skip to content",
    ),
    h(
      "header",
      { class: "top" },
      h("a", { class: "brand", href: "#/" }, "edge-monitor"),
      nav,
      h(
        "div",
        { class: "status-bar" },
        updated,
        h("label", { class: "inline" }, autoToggle, " Auto-refresh 30 s"),
        h("button", { type: "button", onclick: () => void refresh() }, "Refresh now"),
        h("span", { class: "role", title: `API: ${API_BASE}` }, session.role === "admin" ? "admin key" : "read key"),
        h("button", { type: "button", onclick: () => signOut("Signed out.") }, "Sign out"),
      ),
    ),
    notices,
    main,
  );
  mountRoute(session);
}

/** Checks a key against the API, which answers its role (no admin-only request failing for a read key). */
async function roleOf(key: string): Promise<Role> {
  const { role } = await api<{ role: Role }>("/v1/auth/role", { key });
  return role === "admin" ? "admin" : "read";
}

function signOut(message: string): void {
  current?.leave();
  current = null;
  clearSession();
  login(message);
}

function login(message?: string): void {
  const input = h("input", {
    id: "api-key",
    name: "key",
    type: "password",
    autocomplete: "current-password",
    required: true,
    spellcheck: "false",
  });
  const status = h(
    "div",
    { "aria-live": "polite" },
    message ? notice(message === "Signed out." ? "info" : "error", message) : null,
  );
  // Checks the key against the API, then opens the shell; a refused key is told in `status`.
  const signIn = async (key: string): Promise<void> => {
    put(status, h("p", { class: "loading" }, "Checking the key…"));
    try {
      const role = await roleOf(key);
      saveSession({ key, role });
      shell({ key, role });
    } catch (err) {
      const text =
        err instanceof ApiFailure && err.kind === "unauthorized"
          ? `Wrong key: the API refused it (401 ${err.code}). Use the READ_KEY or ADMIN_KEY of this monitor (npm start prints them).`
          : describeFailure(err);
      put(status, notice("error", text));
      input.focus();
    }
  };
  const form = h(
    "form",
    {
      class: "login card",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const key = input.value.trim();
        if (key) void signIn(key);
      },
    },
    h("h1", null, "edge-monitor"),
    h(
      "p",
      null,
      "Enter a read key (dashboards) or the admin key (also settings). It is kept in this tab's session storage only.",
    ),
    h("label", { class: "field", for: "api-key" }, h("span", { class: "field-label" }, "API key")),
    input,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
    h("p", { class: "hint" }, `API: ${API_BASE}`),
    status,
  );
  put(root, h("main", { id: "main" }, form));
  input.focus();
}

window.addEventListener("hashchange", () => {
  const session = getSession();
  if (session && current) mountRoute(session);
});

setInterval(() => {
  if (autoToggle.checked && document.visibilityState === "visible") void refresh(true);
}, REFRESH_MS);

// The browser test measures chart rendering through this (10,000 points under 100 ms).
(window as unknown as { edgeMonitorBenchChart: typeof benchChart }).edgeMonitorBenchChart = benchChart;

const session = getSession();
if (session) shell(session);
else login();
