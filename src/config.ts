/**
 * The operator's settings from the environment (wrangler.toml [vars]), parsed with zod once per
 * env object and cached: modules ask `config(env)` instead of parsing strings where they use them.
 * Parsing is lenient on purpose, as it always was: a value that is missing, blank or out of range
 * falls back to the default rather than failing requests (a typo in a var must not take the
 * monitor down). Secrets (INGEST_KEYS, READ_KEY, ADMIN_KEY) and bindings are not settings: src/http/auth.ts
 * and the modules that use a binding read them.
 */
import * as z from "zod";
import { DAY_MS } from "./lib/time";

export const DEFAULT_RAW_RETENTION_DAYS = 7;
export const DEFAULT_INCIDENT_RETENTION_DAYS = 90;
export const DEFAULT_SUMMARY_RETENTION_DAYS = 400;
export const DEFAULT_ARCHIVE_RETENTION_DAYS = 90;
export const DEFAULT_MAX_IN_FLIGHT = 20_000;
export const DEFAULT_MAX_SERVICES = 1000;
export const DEFAULT_GROUP_WINDOW_MINUTES = 5;
export const DEFAULT_GROUP_GRACE_SECONDS = 60;
export const DEFAULT_ALERT_REMINDER_MINUTES = 240;
/** Delay between the first buffered record and the flush, so that concurrent hand-offs share a batch. */
export const DEFAULT_FLUSH_DELAY_MS = 250;
export const DEFAULT_DEPLOY_CORRELATION_MINUTES = 30;
export const DEFAULT_ROUTE_TTL_DAYS = 30;
export const DEFAULT_ROUTE_RATE_PER_HOUR = 60;
export const DEFAULT_ROUTE_BURST = 20;
export const DEFAULT_AI_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast";
/** D1's size cap the monitor works to: below D1's 10 GB limit. */
export const DEFAULT_D1_MAX_BYTES = 9e9;

/** A number above 0 (days, counts), else the default; blank counts as unset. */
const positive = (fallback: number) =>
  z
    .unknown()
    .optional()
    .transform((v) => {
      const n = Number(v);
      return Number.isFinite(n) && n > 0 ? n : fallback;
    });

/** A whole number above 0, else the default. */
const positiveInteger = (fallback: number) =>
  z
    .unknown()
    .optional()
    .transform((v) => {
      const n = Number(v);
      return Number.isInteger(n) && n > 0 ? n : fallback;
    });

/** A variable's text, trimmed (wrangler passes strings; a JSON var may be a number or a boolean; anything else is blank). */
function settingText(v: unknown): string {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v).trim() : "";
}

/** The parse of a setting where 0 means "off": a number of at least 0, else (or when blank) the default. */
export function nonNegativeSetting(value: unknown, fallback: number): number {
  if (value === undefined || value === null || settingText(value) === "") return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

const nonNegative = (fallback: number) =>
  z
    .unknown()
    .optional()
    .transform((v) => nonNegativeSetting(v, fallback));

/** A number above 0, or null when unset or invalid (the caller has the default). */
const positiveOrNull = z
  .unknown()
  .optional()
  .transform((v) => {
    const n = Number(v);
    return settingText(v) !== "" && Number.isFinite(n) && n > 0 ? n : null;
  });

/** Trimmed text, or null when blank. */
const textOrNull = z
  .unknown()
  .optional()
  .transform((v) => settingText(v) || null);

/** The allowed origins of a `CORS_ORIGINS` value (comma-separated, trailing slashes dropped). */
export function allowedOrigins(value: unknown): string[] {
  return settingText(value)
    .split(",")
    .map((o) => o.trim().replace(/\/+$/, ""))
    .filter((o) => o.length > 0);
}

/** "true"/"false" in any case and padding; anything else is the default. */
const flag = (fallback: boolean) =>
  z
    .unknown()
    .optional()
    .transform((v) => {
      const s = settingText(v).toLowerCase();
      return fallback ? s !== "false" : s === "true";
    });

/** An http(s) base URL without its trailing slashes, or null when unset or anything else. */
const baseUrl = z
  .unknown()
  .optional()
  .transform((v) => {
    const s = settingText(v);
    return /^https?:\/\/[^\s]+$/i.test(s) ? s.replace(/\/+$/, "") : null;
  });

const schema = z.object({
  RAW_RETENTION_DAYS: positive(DEFAULT_RAW_RETENTION_DAYS),
  INCIDENT_RETENTION_DAYS: positive(DEFAULT_INCIDENT_RETENTION_DAYS),
  SUMMARY_RETENTION_DAYS: positive(DEFAULT_SUMMARY_RETENTION_DAYS),
  ARCHIVE_RETENTION_DAYS: positive(DEFAULT_ARCHIVE_RETENTION_DAYS),
  INGEST_MAX_IN_FLIGHT: positiveInteger(DEFAULT_MAX_IN_FLIGHT),
  MAX_SERVICES: positiveInteger(DEFAULT_MAX_SERVICES),
  REDACT_EMAILS: flag(true),
  ALLOW_LOOPBACK_ALERT_URLS: flag(false),
  DASHBOARD_URL: baseUrl,
  INCIDENT_GROUP_WINDOW_MINUTES: nonNegative(DEFAULT_GROUP_WINDOW_MINUTES),
  INCIDENT_GROUP_GRACE_SECONDS: nonNegative(DEFAULT_GROUP_GRACE_SECONDS),
  ALERT_REMINDER_MINUTES: nonNegative(DEFAULT_ALERT_REMINDER_MINUTES),
  FLUSH_DELAY_MS: nonNegative(DEFAULT_FLUSH_DELAY_MS),
  DEPLOY_CORRELATION_MINUTES: nonNegative(DEFAULT_DEPLOY_CORRELATION_MINUTES),
  /** null: the caller's default (ingest and /health share one). */
  MAX_ROUTES_PER_SERVICE: positiveOrNull,
  ROUTE_TTL_DAYS: positive(DEFAULT_ROUTE_TTL_DAYS),
  PROXY_ROUTES_PER_HOUR: positive(DEFAULT_ROUTE_RATE_PER_HOUR),
  PROXY_ROUTES_BURST: positive(DEFAULT_ROUTE_BURST),
  PROXY_CONSUMER_HEADER: textOrNull,
  PROXY_VERSION_HEADER: textOrNull,
  CORS_ORIGINS: z.unknown().optional().transform(allowedOrigins),
  METRICS_PUBLIC: flag(false),
  AI_MODEL: z
    .unknown()
    .optional()
    .transform((v) => settingText(v) || DEFAULT_AI_MODEL),
  D1_MAX_BYTES: positive(DEFAULT_D1_MAX_BYTES),
  /** The raw JSON text; src/cost/prices.ts parses it and reports its errors in GET /v1/stats. */
  COST_PRICES: textOrNull,
});

/** The parsed settings (every field has a value: defaults filled in). */
export type Config = z.output<typeof schema>;
/** The variables `config` reads, as the environment carries them (strings, or absent in a partial env). */
export type ConfigEnv = { [K in keyof Config]?: unknown };

const cache = new WeakMap<object, Config>();

/** The settings of `env`, parsed on first use and cached for this env object. */
export function config(env: ConfigEnv): Config {
  const hit = cache.get(env);
  if (hit !== undefined) return hit;
  const parsed = schema.parse(env);
  cache.set(env, parsed);
  return parsed;
}

/** One setting's value parsed as `config` parses it (for callers that hold a value, not an env). */
export function parseSetting<K extends keyof Config>(key: K, value: unknown): Config[K] {
  return schema.shape[key].parse(value) as Config[K];
}

/** Raw-log retention in ms (`RAW_RETENTION_DAYS`, default 7). */
export function retentionMs(env: ConfigEnv): number {
  return config(env).RAW_RETENTION_DAYS * DAY_MS;
}

/** The dashboard base URL from `DASHBOARD_URL`, or null when unset or not an http(s) URL. */
export function dashboardUrl(env: ConfigEnv): string | null {
  return config(env).DASHBOARD_URL;
}
