/**
 * The operator's settings from the environment (wrangler.toml [vars]), parsed with zod once per
 * env object and cached: modules ask `config(env)` instead of parsing strings where they use them.
 * Parsing is lenient on purpose, as it always was: a value that is missing, blank or out of range
 * falls back to the default rather than failing requests (a typo in a var must not take the
 * monitor down). Settings read only by the endpoint object (src/monitor/) are not here yet.
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

/** Raw-log retention in ms (`RAW_RETENTION_DAYS`, default 7). */
export function retentionMs(env: ConfigEnv): number {
  return config(env).RAW_RETENTION_DAYS * DAY_MS;
}

/** The dashboard base URL from `DASHBOARD_URL`, or null when unset or not an http(s) URL. */
export function dashboardUrl(env: ConfigEnv): string | null {
  return config(env).DASHBOARD_URL;
}
