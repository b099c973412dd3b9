import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  config,
  dashboardUrl,
  DEFAULT_AI_MODEL,
  DEFAULT_MAX_SERVICES,
  parseSetting,
  retentionMs,
} from "../../src/config";
import { DAY_MS } from "../../src/lib/time";
import { DEFAULT_MAX_SERVICES as CATALOG_DEFAULT_MAX_SERVICES } from "../../src/monitor/service-catalog";

describe("config", () => {
  it("fills every default for an empty environment", () => {
    expect(config({})).toEqual({
      RAW_RETENTION_DAYS: 7,
      INCIDENT_RETENTION_DAYS: 90,
      SUMMARY_RETENTION_DAYS: 400,
      ARCHIVE_RETENTION_DAYS: 90,
      INGEST_MAX_IN_FLIGHT: 20_000,
      MAX_SERVICES: 1000,
      REDACT_EMAILS: true,
      ALLOW_LOOPBACK_ALERT_URLS: false,
      DASHBOARD_URL: null,
      INCIDENT_GROUP_WINDOW_MINUTES: 5,
      INCIDENT_GROUP_GRACE_SECONDS: 60,
      ALERT_REMINDER_MINUTES: 240,
      FLUSH_DELAY_MS: 250,
      DEPLOY_CORRELATION_MINUTES: 30,
      MAX_ROUTES_PER_SERVICE: null,
      ROUTE_TTL_DAYS: 30,
      PROXY_ROUTES_PER_HOUR: 60,
      PROXY_ROUTES_BURST: 20,
      PROXY_CONSUMER_HEADER: null,
      PROXY_VERSION_HEADER: null,
      CORS_ORIGINS: [],
      METRICS_PUBLIC: false,
      AI_MODEL: DEFAULT_AI_MODEL,
      D1_MAX_BYTES: 9e9,
      COST_PRICES: null,
    });
  });

  it("parses the endpoint object's, the proxy's and the cost settings in the same one place", () => {
    const c = config({
      FLUSH_DELAY_MS: "0",
      DEPLOY_CORRELATION_MINUTES: "x",
      MAX_ROUTES_PER_SERVICE: "12.7",
      PROXY_ROUTES_BURST: "-3",
      PROXY_CONSUMER_HEADER: " X-Consumer ",
      PROXY_VERSION_HEADER: "  ",
      CORS_ORIGINS: " https://a.example/ , ,https://b.example",
      METRICS_PUBLIC: "TRUE",
      AI_MODEL: " ",
      D1_MAX_BYTES: "1e6",
      COST_PRICES: '{"d1_rows_written_per_million": 2}',
    });
    expect(c.FLUSH_DELAY_MS).toBe(0);
    expect(c.DEPLOY_CORRELATION_MINUTES).toBe(30);
    expect(c.MAX_ROUTES_PER_SERVICE).toBe(12.7);
    expect(c.PROXY_ROUTES_BURST).toBe(20);
    expect(c.PROXY_CONSUMER_HEADER).toBe("X-Consumer");
    expect(c.PROXY_VERSION_HEADER).toBeNull();
    expect(c.CORS_ORIGINS).toEqual(["https://a.example", "https://b.example"]);
    expect(c.METRICS_PUBLIC).toBe(true);
    expect(c.AI_MODEL).toBe(DEFAULT_AI_MODEL);
    expect(c.D1_MAX_BYTES).toBe(1e6);
    expect(c.COST_PRICES).toBe('{"d1_rows_written_per_million": 2}');
    expect(parseSetting("D1_MAX_BYTES", "")).toBe(9e9);
    expect(parseSetting("ALERT_REMINDER_MINUTES", "0")).toBe(0);
  });

  it("parses the values as the modules did: positive days, whole counts, 0 allowed where it means off", () => {
    const c = config({
      RAW_RETENTION_DAYS: "1.5",
      INCIDENT_RETENTION_DAYS: "0",
      MAX_SERVICES: "2.5",
      INGEST_MAX_IN_FLIGHT: " 300 ",
      INCIDENT_GROUP_WINDOW_MINUTES: "0",
      INCIDENT_GROUP_GRACE_SECONDS: " ",
      ALERT_REMINDER_MINUTES: "-1",
    });
    expect(c.RAW_RETENTION_DAYS).toBe(1.5);
    expect(c.INCIDENT_RETENTION_DAYS).toBe(90);
    expect(c.MAX_SERVICES).toBe(1000);
    expect(c.INGEST_MAX_IN_FLIGHT).toBe(300);
    expect(c.INCIDENT_GROUP_WINDOW_MINUTES).toBe(0);
    expect(c.INCIDENT_GROUP_GRACE_SECONDS).toBe(60);
    expect(c.ALERT_REMINDER_MINUTES).toBe(240);
  });

  it("reads flags in any case and only the word that changes the default", () => {
    expect(config({ REDACT_EMAILS: " FALSE " }).REDACT_EMAILS).toBe(false);
    expect(config({ REDACT_EMAILS: "no" }).REDACT_EMAILS).toBe(true);
    expect(config({ ALLOW_LOOPBACK_ALERT_URLS: "True" }).ALLOW_LOOPBACK_ALERT_URLS).toBe(true);
    expect(config({ ALLOW_LOOPBACK_ALERT_URLS: "yes" }).ALLOW_LOOPBACK_ALERT_URLS).toBe(false);
  });

  it("keeps an http(s) dashboard URL without trailing slashes and drops anything else", () => {
    expect(dashboardUrl({ DASHBOARD_URL: " https://mon.example.com/ui// " })).toBe("https://mon.example.com/ui");
    expect(dashboardUrl({ DASHBOARD_URL: "ftp://x" })).toBeNull();
  });

  it("parses an environment once and reads the test worker's vars", () => {
    expect(config(env)).toBe(config(env));
    expect(retentionMs(env)).toBe(Number(env.RAW_RETENTION_DAYS) * DAY_MS);
    expect(config(env).ALLOW_LOOPBACK_ALERT_URLS).toBe(true);
  });

  it("has the service cap default the endpoint catalog uses", () => {
    expect(DEFAULT_MAX_SERVICES).toBe(CATALOG_DEFAULT_MAX_SERVICES);
  });
});
