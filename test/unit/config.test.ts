import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { config, dashboardUrl, DEFAULT_MAX_SERVICES, retentionMs } from "../../src/config";
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
    });
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
