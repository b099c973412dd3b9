// @ts-check
// End-to-end (issue 16, item 1): an origin outage across 8 endpoints of one service against
// `npm start` (fresh state), then the dashboard in Debian's headless Chromium: the incident list
// shows the group as one row (its members hidden) that opens to its eight members, and an
// incident page names its group. Screenshots go to bench/results/screenshots-groups-<time>/
// (printed). Skipped, saying why, when /usr/bin/chromium is absent.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createRng } from "../../scripts/lib/prng.mjs";
import { apiClient, browserSkip, openBrowser, screenshotsDir, signIn, sleep } from "./dashboard-browser.mjs";
import { startMonitor } from "./start-monitor.mjs";
import { until } from "./until.mjs";

const MINUTE = 60_000;
const SERVICE = "checkout";
const ENDPOINTS = ["/orders/:id", "/items/:id"].flatMap((route) =>
  ["GET", "POST", "PUT", "DELETE"].map((method) => ({ method, route })),
);
const skip = browserSkip("dashboard groups");

/** @type {import("./start-monitor.mjs").Monitor} */
let monitor;
/** @type {import("./dashboard-browser.mjs").Api} */
let api;
/** @type {import("./dashboard-browser.mjs").OpenBrowser} */
let chromium;
/** @type {import("playwright-core").Page} */
let page;
/** @type {string} */
let SHOTS;

/**
 * Each endpoint: 30 steady minutes, then `outage` minutes with 80% 5xx, ending at the last finished minute.
 * @param {number} outage
 */
function records(outage) {
  const end = Math.floor(Date.now() / MINUTE) * MINUTE;
  const total = 30 + outage;
  const start = end - total * MINUTE;
  const random = createRng(11).uniform;
  /** @typedef {{ timestamp: number; service: string; method: string; path: string; route: string; status: number; latency_ms: number }} LogRecord */
  /** @type {LogRecord[]} */
  const steady = [];
  /** @type {LogRecord[]} */
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
      SHOTS = screenshotsDir("groups");
      monitor = await startMonitor("groups");
      api = apiClient(monitor.url, monitor.readKey);
      chromium = await openBrowser();
      page = chromium.page;
      console.log(`# dashboard groups screenshots: ${SHOTS}`);
    },
    { timeout: 180_000 },
  );

  after(async () => {
    await chromium?.close();
    monitor?.stop();
  });

  test("an outage of 8 endpoints is one group in the API", { timeout: 180_000 }, async () => {
    const { steady, failing } = records(4);
    for (let i = 0; i < steady.length; i += 1000)
      await api("/v1/logs?sync=1", monitor.ingestKey, {
        method: "POST",
        body: JSON.stringify(steady.slice(i, i + 1000)),
      });
    // The outage arrives together, as an origin outage does.
    await api("/v1/logs?sync=1", monitor.ingestKey, { method: "POST", body: JSON.stringify(failing) });
    const listed = await until(
      "the group in GET /v1/incidents",
      async () => {
        /** @type {{ incidents: { group_id: string }[]; groups?: { id: string; members: unknown[] }[] }} */
        const body = await api(`/v1/incidents?service=${SERVICE}`, monitor.readKey);
        return body.groups?.[0]?.members.length === 8 ? body : null;
      },
      60_000,
    );
    assert.equal(listed.incidents.length, 8);
    assert.ok(listed.incidents.every((i) => i.group_id === /** @type {{ id: string }[]} */ (listed.groups)[0].id));
  });

  test(
    "the incident list shows the group as one row that opens to its eight members",
    { timeout: 60_000 },
    async () => {
      await signIn(page, monitor.url, /** @type {string} */ (monitor.readKey));
      await page.goto(`${monitor.url}/#/incidents`);
      await page.waitForSelector("tr.group-row");
      assert.equal(await page.locator("tr.group-row").count(), 1);
      const toggle = page.locator("tr.group-row button.group-toggle");
      assert.match(/** @type {string} */ (await toggle.textContent()), new RegExp(`${SERVICE}: 8 endpoints`));
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
      assert.deepEqual(chromium.errors, [], "console errors");
    },
  );
});
