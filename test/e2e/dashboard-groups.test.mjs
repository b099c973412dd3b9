// End-to-end (issue 16, item 1): an origin outage across 8 endpoints of one service against
// `npm start` (fresh state), then the dashboard in Debian's headless Chromium: the incident list
// shows the group as one row (its members hidden) that opens to its eight members, and an
// incident page names its group. Screenshots go to bench/results/screenshots-groups-<time>/
// (printed). Skipped, saying why, when /usr/bin/chromium is absent.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { startMonitor } from "./start-monitor.mjs";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SHOTS = join(ROOT, "bench", "results", `screenshots-groups-${new Date().toISOString().replace(/[:.]/g, "-")}`);
const MINUTE = 60_000;
const SERVICE = "checkout";
const ENDPOINTS = ["/orders/:id", "/items/:id"].flatMap((route) => ["GET", "POST", "PUT", "DELETE"].map((method) => ({ method, route })));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: install Debian's chromium to run this browser test`;
if (skip) console.log(`# SKIPPED dashboard groups browser test: ${skip}`);

let monitor;
let browser;
let page;
let errors = [];

async function api(path, key, init = {}) {
  const res = await fetch(`${monitor.url}${path}`, { ...init, headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json", ...init.headers } });
  assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`);
  return res.json();
}

async function until(what, fn, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

/** Each endpoint: 30 steady minutes, then `outage` minutes with 80% 5xx, ending at the last finished minute. */
function records(outage) {
  const end = Math.floor(Date.now() / MINUTE) * MINUTE;
  const total = 30 + outage;
  const start = end - total * MINUTE;
  let seed = 11;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const steady = [];
  const failing = [];
  for (const e of ENDPOINTS) {
    for (let m = 0; m < total; m++) {
      const bad = m >= total - outage;
      for (let i = 0; i < 20; i++) {
        (bad ? failing : steady).push({
          timestamp: start + m * MINUTE + Math.floor((i + random()) * (MINUTE / 20)),
          service: SERVICE,
          method: e.method,
          path: e.route.replace(":id", String(i)),
          route: e.route,
          status: random() < (bad ? 0.8 : 0.002) ? 503 : 200,
          latency_ms: Math.round(80 * Math.exp(0.3 * (random() + random() + random() - 1.5)) * 10) / 10,
        });
      }
    }
  }
  return { steady, failing };
}

describe("dashboard: a grouped incident in headless Chromium", { skip }, () => {
  before(
    async () => {
      mkdirSync(SHOTS, { recursive: true });
      monitor = await startMonitor("groups");
      const { chromium } = await import("playwright-core");
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      page.on("pageerror", (e) => errors.push(`uncaught: ${e.message}`));
      console.log(`# dashboard groups screenshots: ${SHOTS}`);
    },
    { timeout: 180_000 },
  );

  after(async () => {
    await browser?.close();
    monitor?.stop();
  });

  test("an outage of 8 endpoints is one group in the API", { timeout: 180_000 }, async () => {
    const { steady, failing } = records(4);
    for (let i = 0; i < steady.length; i += 1000) await api("/v1/logs?sync=1", monitor.ingestKey, { method: "POST", body: JSON.stringify(steady.slice(i, i + 1000)) });
    // The outage arrives together, as an origin outage does.
    await api("/v1/logs?sync=1", monitor.ingestKey, { method: "POST", body: JSON.stringify(failing) });
    const listed = await until("the group in GET /v1/incidents", async () => {
      const body = await api(`/v1/incidents?service=${SERVICE}`, monitor.readKey);
      return body.groups?.[0]?.members.length === 8 ? body : null;
    });
    assert.equal(listed.incidents.length, 8);
    assert.ok(listed.incidents.every((i) => i.group_id === listed.groups[0].id));
  });

  test("the incident list shows the group as one row that opens to its eight members", { timeout: 60_000 }, async () => {
    await page.goto(`${monitor.url}/`);
    await page.fill("#api-key", monitor.readKey);
    await page.click("form.login button[type=submit]");
    await page.waitForSelector("#last-updated");
    await page.goto(`${monitor.url}/#/incidents`);
    await page.waitForSelector("tr.group-row");
    assert.equal(await page.locator("tr.group-row").count(), 1);
    const toggle = page.locator("tr.group-row button.group-toggle");
    assert.match(await toggle.textContent(), new RegExp(`${SERVICE}: 8 endpoints`));
    assert.equal(await toggle.getAttribute("aria-expanded"), "false");
    assert.equal(await page.locator("tr.group-member").count(), 8);
    assert.equal(await page.locator("tr.group-member:visible").count(), 0);
    await sleep(300);
    await page.screenshot({ path: join(SHOTS, "incidents-group-closed.png"), fullPage: true });
    await toggle.click();
    assert.equal(await toggle.getAttribute("aria-expanded"), "true");
    assert.equal(await page.locator("tr.group-member:visible").count(), 8);
    const routes = await page.locator("tr.group-member a.incident-link").allTextContents();
    assert.deepEqual(new Set(routes), new Set(ENDPOINTS.map((e) => `${SERVICE} ${e.method} ${e.route}`)));
    await sleep(300);
    await page.screenshot({ path: join(SHOTS, "incidents-group-open.png"), fullPage: true });
    // A member's page names the group and links the other members.
    await page.locator("tr.group-member a.incident-link").first().click();
    await page.waitForSelector(".group-note");
    assert.equal(await page.locator(".group-note li a").count(), 8);
    await page.screenshot({ path: join(SHOTS, "incident-group-note.png"), fullPage: true });
    assert.deepEqual(errors, [], "console errors");
  });
});
