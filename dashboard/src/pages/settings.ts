/**
 * Settings (admin key): proxied services with their probes, detection settings (SLOs,
 * thresholds) per service, alert channels with a test button, switches, and the background
 * jobs' status. Every change goes through the admin API, whose validation messages are shown.
 */
import { api, describeFailure } from "../api";
import { field, h, labelled, notice, put, select } from "../dom";
import { formatAgo, formatMs, formatTime } from "../format";
import type { Mount } from "../page";
import { costLine, d1SizeLine, type CostSection, type D1Size } from "../cost";
import type { Channel, EndpointRow, Service, Slo, Switches } from "../../../src/api-types";

interface JobStatus {
  job: string;
  last_started_at: number | null;
  last_duration_ms: number | null;
  last_rows: number | null;
  last_error: string | null;
  runs: number;
  failures: number;
}
interface ProbeRun {
  service: string;
  probe: string;
  last_run_at: number | null;
  last_ok: boolean | null;
  last_status: number | null;
  last_latency_ms: number | null;
  last_error: string | null;
}
interface ControlStatus {
  jobs: JobStatus[];
  backlog: { records: number; endpoints: number };
  probes: ProbeRun[];
  d1_size: D1Size;
}
type DetectionSettings = Record<string, unknown> & { slo?: Partial<Slo>; thresholds?: Record<string, number> };
interface Detection {
  settings: DetectionSettings;
  defaults: { slo: Slo; thresholds: Record<string, number> };
}

const DETECTION_FIELDS: [path: "slo" | "thresholds", key: string, label: string, hint: string][] = [
  ["slo", "availability", "Availability objective", "share without 5xx, e.g. 0.995"],
  ["slo", "latency_ms", "Latency SLO (ms)", "requests should answer within"],
  ["slo", "latency_target", "Latency objective", "share within the latency SLO, e.g. 0.99"],
  ["thresholds", "p95_ms", "p95 threshold (ms)", ""],
  ["thresholds", "error_rate", "5xx rate threshold", "e.g. 0.05"],
  ["thresholds", "silent_failure_rate", "Silent-failure threshold", "e.g. 0.05"],
];

export const settingsPage: Mount = (ctx) => {
  const status = h("div", { "aria-live": "polite" });
  const say = (kind: "info" | "error", text: string) => put(status, notice(kind, text));
  const act = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      say("info", `${what}: done.`);
      await handle.refresh();
    } catch (err) {
      say("error", `${what} failed. ${describeFailure(err)}`);
    }
  };
  const servicesBox = h("section", { class: "card", "aria-labelledby": "svc-h" });
  const detectionBox = h("section", { class: "card", "aria-labelledby": "det-h" });
  const channelsBox = h("section", { class: "card", "aria-labelledby": "ch-h" });
  const switchesBox = h("section", { class: "card", "aria-labelledby": "sw-h" });
  const jobsBox = h("section", { class: "card", "aria-labelledby": "jobs-h" });
  let detectionService = "";

  if (ctx.session.role !== "admin") {
    put(
      ctx.main,
      h("h1", null, "Settings"),
      notice(
        "info",
        "Settings need the admin key: you are signed in with the read key. Sign out and sign in with ADMIN_KEY to change services, detection, alert channels and switches.",
      ),
    );
    return { refresh: async () => undefined };
  }
  put(ctx.main, h("h1", null, "Settings"), status, switchesBox, servicesBox, detectionBox, channelsBox, jobsBox);

  function serviceForm(s: Service | null): HTMLFormElement {
    const form: HTMLFormElement = h(
      "form",
      {
        class: "form-grid",
        onsubmit: (e: Event) => {
          e.preventDefault();
          const name = field(form, "name");
          let probes: unknown;
          try {
            probes = JSON.parse(field(form, "probes") || "[]");
          } catch {
            return say("error", "Probes must be a JSON array.");
          }
          const body = {
            origin: field(form, "origin"),
            hostnames: field(form, "hostnames")
              .split(",")
              .map((x) => x.trim())
              .filter(Boolean),
            timeout_ms: Number(field(form, "timeout_ms") || 30000),
            recording: {
              enabled: field(form, "recording") === "true",
              sample_rate: Number(field(form, "sample_rate") || 1),
            },
            probes,
          };
          void act(`Save service ${name}`, () =>
            api(`/v1/services/${encodeURIComponent(name)}`, { method: "PUT", body }),
          );
        },
      },
      labelled(
        "Name",
        h("input", {
          name: "name",
          required: true,
          value: s?.name ?? "",
          readonly: s !== null,
          pattern: "[A-Za-z0-9._\\-]{1,64}",
        }),
      ),
      labelled(
        "Origin",
        h("input", {
          name: "origin",
          type: "url",
          required: true,
          value: s?.origin ?? "",
          placeholder: "https://origin.example",
        }),
      ),
      labelled(
        "Hostnames",
        h("input", { name: "hostnames", value: s?.hostnames.join(", ") ?? "", placeholder: "api.example.com" }),
        "comma-separated",
      ),
      labelled(
        "Timeout (ms)",
        h("input", { name: "timeout_ms", type: "number", min: "100", value: String(s?.timeout_ms ?? 30000) }),
      ),
      labelled(
        "Sample 1 in",
        h("input", { name: "sample_rate", type: "number", min: "1", value: String(s?.recording.sample_rate ?? 1) }),
      ),
      h(
        "label",
        { class: "inline" },
        h("input", { type: "checkbox", name: "recording", checked: s?.recording.enabled ?? true }),
        " Record requests",
      ),
      h(
        "div",
        { class: "wide" },
        labelled(
          "Probes (JSON)",
          h("textarea", { name: "probes", rows: 3, spellcheck: "false" }, JSON.stringify(s?.probes ?? [], null, 0)),
          'e.g. [{"name": "health", "path": "/health", "interval_seconds": 300}]',
        ),
      ),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, s ? "Save" : "Add service")),
    );
    return form;
  }

  async function drawDetection(services: string[]): Promise<void> {
    if (!detectionService || !services.includes(detectionService)) detectionService = services[0] ?? "";
    const picker = select(
      "detection-service",
      services.map((s) => [s, s]),
      detectionService,
      { id: "detection-service" },
    );
    picker.addEventListener("change", () => {
      detectionService = picker.value;
      void drawDetection(services).catch(ctx.report);
    });
    if (!detectionService)
      return put(
        detectionBox,
        h("h2", { id: "det-h" }, "Detection settings"),
        h("p", { class: "muted" }, "No service yet."),
      );
    const d = await api<Detection>(`/v1/services/${encodeURIComponent(detectionService)}/detection`, {
      signal: ctx.signal,
    });
    const form: HTMLFormElement = h(
      "form",
      {
        class: "form-grid",
        onsubmit: (e: Event) => {
          e.preventDefault();
          const next: DetectionSettings = {
            ...d.settings,
            slo: { ...d.settings.slo },
            thresholds: { ...d.settings.thresholds },
          };
          for (const [path, key] of DETECTION_FIELDS) {
            const v = field(form, `${path}.${key}`);
            const target = next[path] as Record<string, number>;
            if (v === "") delete target[key];
            else target[key] = Number(v);
          }
          if (Object.keys(next.slo ?? {}).length === 0) delete next.slo;
          if (Object.keys(next.thresholds ?? {}).length === 0) delete next.thresholds;
          void act(`Save detection settings of ${detectionService}`, () =>
            api(`/v1/services/${encodeURIComponent(detectionService)}/detection`, { method: "PUT", body: next }),
          );
        },
      },
      ...DETECTION_FIELDS.map(([path, key, label, hint]) => {
        const section: Record<string, number | undefined> | undefined = d.settings[path];
        const own = section?.[key];
        const def = (d.defaults[path] as Record<string, number>)[key];
        return labelled(
          label,
          h("input", {
            name: `${path}.${key}`,
            type: "number",
            step: "any",
            value: own === undefined ? "" : String(own),
            placeholder: `default ${def}`,
          }),
          hint,
        );
      }),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", class: "primary" }, "Save"),
        h(
          "button",
          {
            type: "button",
            onclick: () =>
              void act(`Reset detection settings of ${detectionService}`, () =>
                api(`/v1/services/${encodeURIComponent(detectionService)}/detection`, { method: "DELETE" }),
              ),
          },
          "Reset to defaults",
        ),
      ),
    );
    put(
      detectionBox,
      h("h2", { id: "det-h" }, "Detection settings"),
      h("div", { class: "narrow" }, labelled("Service", picker)),
      h(
        "p",
        { class: "hint" },
        'Blank fields use the default shown. Per-endpoint overrides (the settings\' "endpoints" map) are kept as they are.',
      ),
      form,
    );
  }

  const handle = {
    auto: false,
    async refresh() {
      const [svc, endpoints, channels, switches, control, stats] = await Promise.all([
        api<{ services: Service[] }>("/v1/services", { signal: ctx.signal }),
        api<{ endpoints: EndpointRow[] }>("/v1/endpoints", { signal: ctx.signal }),
        api<{ channels: Channel[] }>("/v1/alert-channels", { signal: ctx.signal }),
        api<Switches>("/v1/control/switches", { signal: ctx.signal }),
        api<ControlStatus>("/v1/control/status", { signal: ctx.signal }),
        api<{ cost: CostSection }>("/v1/stats", { signal: ctx.signal }),
      ]);
      const now = Date.now();

      put(
        switchesBox,
        h("h2", { id: "sw-h" }, "Switches"),
        h(
          "div",
          { class: "switches" },
          ...(
            [
              ["ingestion", "Ingestion (POST /v1/logs answers 503 when off)"],
              ["proxy_recording", "Proxy recording (the proxy forwards but records nothing when off)"],
              ["probes", "Synthetic probes"],
            ] as const
          ).map(([k, label]) =>
            h(
              "label",
              { class: "inline" },
              h("input", {
                type: "checkbox",
                name: k,
                checked: switches[k],
                onchange: (e: Event) =>
                  void act(`Switch ${k} ${(e.target as HTMLInputElement).checked ? "on" : "off"}`, () =>
                    api("/v1/control/switches", {
                      method: "PUT",
                      body: { [k]: (e.target as HTMLInputElement).checked },
                    }),
                  ),
              }),
              ` ${label}`,
            ),
          ),
        ),
      );

      put(
        servicesBox,
        h("h2", { id: "svc-h" }, "Proxied services and probes"),
        svc.services.length === 0
          ? h(
              "p",
              { class: "muted" },
              "No proxied service: services that only send logs need none. Add one to put the monitor in front of its origin.",
            )
          : null,
        ...svc.services.map((s) =>
          h(
            "details",
            { class: "service" },
            h(
              "summary",
              null,
              `${s.name} → ${s.origin}`,
              h(
                "span",
                { class: "muted" },
                ` (${s.source}, ${s.probes.length} probe${s.probes.length === 1 ? "" : "s"})`,
              ),
            ),
            serviceForm(s),
            s.probes.length
              ? h(
                  "ul",
                  null,
                  ...s.probes.map((p) => {
                    const run = control.probes.find((r) => r.service === s.name && r.probe === p.name);
                    return h(
                      "li",
                      null,
                      `${p.name}: ${p.method} ${p.path} every ${p.interval_seconds} s, expects ${p.expected_status}. `,
                      run
                        ? `Last run ${formatAgo(run.last_run_at, now)}: ${run.last_ok ? "ok" : `failed (${run.last_status ?? "?"} ${run.last_error ?? ""})`}, ${formatMs(run.last_latency_ms)}`
                        : "Not run yet.",
                    );
                  }),
                )
              : null,
            s.source === "api"
              ? h(
                  "button",
                  {
                    type: "button",
                    class: "danger",
                    onclick: () =>
                      confirm(`Delete service ${s.name}?`) &&
                      void act(`Delete service ${s.name}`, () =>
                        api(`/v1/services/${encodeURIComponent(s.name)}`, { method: "DELETE" }),
                      ),
                  },
                  `Delete ${s.name}`,
                )
              : h("p", { class: "hint" }, "Declared in wrangler.toml (SERVICES): saving here overrides it in D1."),
          ),
        ),
        h("details", { class: "service" }, h("summary", null, "Add a service"), serviceForm(null)),
        h(
          "button",
          {
            type: "button",
            onclick: () => void act("Run probes now", () => api("/v1/control/probes/run", { method: "POST" })),
          },
          "Run probes now",
        ),
      );

      await drawDetection(
        [...new Set([...svc.services.map((s) => s.name), ...endpoints.endpoints.map((e) => e.service)])].sort(),
      );

      const channelForm: HTMLFormElement = h(
        "form",
        {
          class: "form-grid",
          onsubmit: (e: Event) => {
            e.preventDefault();
            const services = field(channelForm, "services")
              .split(",")
              .map((x) => x.trim())
              .filter(Boolean);
            const body: Record<string, unknown> = {
              type: field(channelForm, "type"),
              name: field(channelForm, "name"),
              min_severity: field(channelForm, "min_severity"),
              enabled: field(channelForm, "enabled") === "true",
            };
            if (field(channelForm, "url")) body.url = field(channelForm, "url");
            if (field(channelForm, "secret")) body.secret = field(channelForm, "secret");
            if (services.length) body.services = services;
            void act(`Add channel ${String(body.name)}`, () => api("/v1/alert-channels", { method: "POST", body }));
          },
        },
        labelled(
          "Type",
          select(
            "type",
            [
              ["webhook", "Webhook"],
              ["slack", "Slack"],
              ["pagerduty", "PagerDuty"],
            ],
            "webhook",
          ),
        ),
        labelled("Name", h("input", { name: "name", required: true })),
        labelled(
          "URL",
          h("input", { name: "url", type: "url", placeholder: "https://hooks.example.com/..." }),
          "not for PagerDuty",
        ),
        labelled(
          "Secret",
          h("input", { name: "secret", type: "password", autocomplete: "off" }),
          "webhook: whsec_…; PagerDuty: routing key",
        ),
        labelled("Services", h("input", { name: "services", placeholder: "all" }), "comma-separated, blank for all"),
        labelled(
          "Minimum severity",
          select(
            "min_severity",
            [
              ["WARNING", "Warning"],
              ["CRITICAL", "Critical"],
            ],
            "WARNING",
          ),
        ),
        h("label", { class: "inline" }, h("input", { type: "checkbox", name: "enabled", checked: true }), " Enabled"),
        h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Add channel")),
      );
      // "Send test": the channel's test message, its outcome told in the page's status line.
      const sendTest = async (c: (typeof channels.channels)[number]): Promise<void> => {
        try {
          const r = await api<{
            delivered: boolean;
            status_code: number | null;
            error: string | null;
            duration_ms: number;
          }>(`/v1/alert-channels/${encodeURIComponent(c.id)}/test`, { method: "POST" });
          say(
            r.delivered ? "info" : "error",
            r.delivered
              ? `Test message delivered to ${c.name} (${r.status_code ?? ""}, ${formatMs(r.duration_ms)}).`
              : `Test message to ${c.name} failed: ${r.error ?? `status ${r.status_code ?? "?"}`}.`,
          );
        } catch (err) {
          say("error", `Test of ${c.name} failed. ${describeFailure(err)}`);
        }
      };
      put(
        channelsBox,
        h("h2", { id: "ch-h" }, "Alert channels"),
        channels.channels.length
          ? h(
              "ul",
              { class: "channels" },
              ...channels.channels.map((c) =>
                h(
                  "li",
                  null,
                  h("strong", null, c.name),
                  ` ${c.type} → ${c.url}, ${c.min_severity}+, ${c.services ? c.services.join(", ") : "all services"}${c.enabled ? "" : " (disabled)"} `,
                  h(
                    "button",
                    {
                      type: "button",
                      class: "test-channel",
                      onclick: () => void sendTest(c),
                    },
                    "Send test",
                  ),
                  " ",
                  h(
                    "button",
                    {
                      type: "button",
                      class: "danger",
                      onclick: () =>
                        confirm(`Delete channel ${c.name}?`) &&
                        void act(`Delete channel ${c.name}`, () =>
                          api(`/v1/alert-channels/${encodeURIComponent(c.id)}`, { method: "DELETE" }),
                        ),
                    },
                    "Delete",
                  ),
                ),
              ),
            )
          : h("p", { class: "muted" }, "No alert channel: incidents are only shown here."),
        h("details", null, h("summary", null, "Add a channel"), channelForm),
      );

      put(
        jobsBox,
        h("h2", { id: "jobs-h" }, "Background jobs"),
        h(
          "p",
          null,
          `Backlog: ${control.backlog.records} records in ${control.backlog.endpoints} endpoint objects not yet in D1.`,
        ),
        h("p", { id: "cost-line" }, costLine(stats.cost)),
        h("p", { id: "d1-size-line" }, d1SizeLine(control.d1_size)),
        control.jobs.length
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
                    ...["Job", "Last run", "Duration", "Rows", "Runs", "Failures", "Last error"].map((c, i) =>
                      h("th", { scope: "col", class: i >= 2 && i <= 5 ? "num" : null }, c),
                    ),
                  ),
                ),
                h(
                  "tbody",
                  null,
                  ...control.jobs.map((j) =>
                    h(
                      "tr",
                      null,
                      h("td", null, j.job),
                      h("td", null, formatTime(j.last_started_at)),
                      h("td", { class: "num" }, formatMs(j.last_duration_ms)),
                      h("td", { class: "num" }, String(j.last_rows ?? "–")),
                      h("td", { class: "num" }, String(j.runs)),
                      h("td", { class: "num" }, String(j.failures)),
                      h("td", null, j.last_error ?? ""),
                    ),
                  ),
                ),
              ),
            )
          : h("p", { class: "muted" }, "No job has run yet."),
      );
    },
  };
  return handle;
};
