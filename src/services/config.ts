/**
 * A monitored service's configuration: where its origin is, which hostnames route to it, and
 * the proxy's switches. Validated with zod wherever it enters (the `SERVICES` var, the admin
 * API, D1). Pure.
 */
import * as z from "zod";
import { zodMessages } from "../http/validate";
import { hasDotSegment } from "../proxy/target";
import { rawLogsSettings } from "../storage/policy";

export const SERVICE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
export const DEFAULT_TIMEOUT_MS = 30_000;

const hostname = z
  .string()
  .min(1)
  .max(253)
  .transform((h) => h.toLowerCase())
  .refine(
    (h) => /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(h),
    "must be a hostname",
  );

const origin = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (
        (url.protocol === "http:" || url.protocol === "https:") &&
        !url.username &&
        !url.password &&
        !url.search &&
        !url.hash
      );
    } catch {
      return false;
    }
  }, "must be an http(s) URL without credentials, query or fragment")
  .transform((value) => value.replace(/\/+$/, ""));

export const MAX_PROBES_PER_SERVICE = 20;
export const PROBE_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

// A space or control character, a fragment, a backslash (raw or %5c): never in a probe path.
// eslint-disable-next-line no-control-regex -- the control characters are what it matches
const UNSAFE_IN_PATH = /[\x00-\x20\x7f#\\]|%5c/i;

/**
 * A probe's path (and optional query) below the service's origin. Only a path can be given: an
 * absolute URL, a scheme-relative `//host`, dot segments or backslashes (which a URL parser may
 * turn into another host or a path above the origin's base) are refused, so a probe can only
 * reach the configured origin.
 */
const probePath = z
  .string()
  .min(1)
  .max(2048)
  .startsWith("/", "must start with /")
  .refine((p) => !p.startsWith("//"), "must be a path below the origin, not //host")
  .refine(
    (p) => !UNSAFE_IN_PATH.test(p) && !hasDotSegment(p.split("?")[0] ?? p),
    "must hold no space, control character, fragment, backslash or dot segment",
  );

/** One synthetic probe of a service (run by the probe cron against the service's origin). */
export const probeSettings = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 characters of A-Z a-z 0-9 . _ -"),
    method: z.enum(PROBE_METHODS).default("GET"),
    path: probePath,
    expected_status: z.number().int().min(100).max(599).default(200),
    expected_body: z.string().min(1).max(1024).optional(),
    interval_seconds: z.number().int().min(60).max(86_400).default(300),
    timeout_ms: z.number().int().min(100).max(60_000).default(5000),
  })
  .refine((p) => !(p.method === "HEAD" && p.expected_body !== undefined), {
    message: "a HEAD probe gets no body: expected_body cannot be checked",
    path: ["expected_body"],
  });
export type ProbeSettings = z.output<typeof probeSettings>;

const probes = z
  .array(probeSettings)
  .max(MAX_PROBES_PER_SERVICE)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((p, i) => {
      if (seen.has(p.name))
        ctx.addIssue({ code: "custom", message: `duplicate probe name ${p.name}`, path: [i, "name"] });
      seen.add(p.name);
    });
  })
  .default([]);

/** The settings of a service, as the admin API takes them (the name comes from the path). Unknown fields are refused: a misspelt setting must not pass silently. */
export const serviceSettings = z.strictObject({
  origin,
  hostnames: z.array(hostname).max(20).default([]),
  timeout_ms: z.number().int().min(100).max(300_000).default(DEFAULT_TIMEOUT_MS),
  recording: z
    .strictObject({
      enabled: z.boolean().default(true),
      sample_rate: z.number().int().min(1).max(1_000_000).default(1),
    })
    .prefault({}),
  /** Which records get a raw row in D1 (src/storage/policy.ts); counts and detection see every record whatever it says. */
  raw_logs: rawLogsSettings,
  probes,
});
export type ServiceSettings = z.output<typeof serviceSettings>;

export interface ServiceConfig extends ServiceSettings {
  name: string;
  /** Where it is declared: `vars` (wrangler.toml `SERVICES`) or `api` (D1). */
  source: "vars" | "api";
}

/** Parses the `SERVICES` var (a JSON array of `{name, origin, ...}`); invalid entries are reported, not fatal. */
export function parseServicesVar(raw: string | undefined): { services: ServiceConfig[]; errors: string[] } {
  if (!raw || raw.trim() === "") return { services: [], errors: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { services: [], errors: ["SERVICES is not valid JSON"] };
  }
  if (!Array.isArray(parsed)) return { services: [], errors: ["SERVICES must be a JSON array"] };
  const services: ServiceConfig[] = [];
  const errors: string[] = [];
  parsed.forEach((entry: unknown, i) => {
    const name = typeof entry === "object" && entry !== null && "name" in entry ? entry.name : undefined;
    if (typeof name !== "string" || !SERVICE_NAME.test(name)) {
      errors.push(`SERVICES[${i}].name: must be 1-64 characters of A-Z a-z 0-9 . _ -`);
      return;
    }
    const { name: _name, ...rest } = entry as Record<string, unknown>;
    const settings = serviceSettings.safeParse(rest);
    if (!settings.success) {
      errors.push(...zodMessages(settings.error).map((m) => `SERVICES[${i}].${m}`));
      return;
    }
    services.push({ name, source: "vars", ...settings.data });
  });
  return { services, errors };
}

/** The public JSON of a service. */
export function toApiService(s: ServiceConfig) {
  return {
    name: s.name,
    origin: s.origin,
    hostnames: s.hostnames,
    timeout_ms: s.timeout_ms,
    recording: s.recording,
    raw_logs: s.raw_logs,
    probes: s.probes,
    source: s.source,
  };
}
