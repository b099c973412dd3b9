// @ts-check
// End-to-end (issue 16, item 4): the dashboard in Debian's headless Chromium against `npm start`
// (test/e2e/start-monitor.mjs). An endpoint's traffic comes from 6 consumers in 4 colos; its last
// minutes fail for consumer acme only. The incident names acme in its explanation, and the
// endpoint page shows both breakdowns (name, requests, 5xx %, p95) with acme's 5xx. Screenshots
// go to bench/results/screenshots-breakdown-<time>/ (printed). Skipped, saying why, when
// /usr/bin/chromium is absent.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { apiClient, browserSkip, openBrowser, screenshotsDir, signIn, sleep } from "./dashboard-browser.mjs";
import { startMonitor } from "./start-monitor.mjs";
import { until } from "./until.mjs";

const MINUTE = 60_000;
const CONSUMERS = ["acme", "globex", "initech", "umbrella", "hooli", "stark"];
const COLOS = ["FRA", "AMS", "LHR", "IAD"];
const skip = browserSkip("dashboard breakdown");

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

/** 70 minutes of traffic up to the minute in progress; the last 8 fail for consumer acme only. */
function traffic() {
  const end = Math.floor(Date.now() / MINUTE) * MINUTE;
  const start = end - 70 * MINUTE;
  const out = [];
  for (let m = 0; m < 70; m++) {
    for (let i = 0; i < 36; i++) {
      const consumer = CONSUMERS[i % CONSUMERS.length];
      const failing = m >= 62 && consumer === "acme";
      out.push({
        timestamp: start + m * MINUTE + Math.floor((i * MINUTE) / 36),
        service: "who",
        method: "GET",
        path: `/orders/${i}`,
        route: "/orders/:id",
        status: failing ? 503 : 200,
        latency_ms: 40 + ((i * 7) % 30) + (COLOS[Math.floor(i / 6) % COLOS.length] === "IAD" ? 60 : 0),
        consumer,
        region: COLOS[Math.floor(i / 6) % COLOS.length],
      });
    }
  }
  return out;
}

describe("dashboard: who and where", { skip }, () => {
  before(async () => {
    monitor = await startMonitor("breakdown");
    api = apiClient(monitor.url, monitor.readKey);
    chromium = await openBrowser();
    page = chromium.page;
    SHOTS = screenshotsDir("breakdown");
    console.log(`# dashboard breakdown screenshots: ${SHOTS}`);
  });

  after(async () => {
    await chromium?.close();
    await monitor?.stop();
  });

  test(
    "the incident names the consumer and the endpoint page shows both breakdowns",
    { timeout: 180_000 },
    async () => {
      const records = traffic();
      for (let i = 0; i < records.length; i += 1000)
        await api("/v1/logs?sync=1", monitor.ingestKey, {
          method: "POST",
          body: JSON.stringify(records.slice(i, i + 1000)),
        });
      const incident = await until(
        "an incident naming acme",
        async () => {
          /** @type {{ incidents: { id: string; explanation: string; concentration?: { names: string[] }[] }[] }} */
          const { incidents } = await api("/v1/incidents?service=who", monitor.readKey);
          return incidents.find((i) => i.concentration?.some((c) => c.names.includes("acme")));
        },
        60_000,
      );
      assert.match(incident.explanation, /5xx only for consumer acme/);

      await signIn(page, monitor.url, /** @type {string} */ (monitor.readKey));
      await page.goto(`${monitor.url}/#/endpoints/who/GET/${encodeURIComponent("/orders/:id")}?range=1h`);
      await page.waitForSelector("table[data-breakdown=consumers] tbody tr");
      /** @param {string} which */
      const rows = async (which) =>
        page.$$eval(`table[data-breakdown=${which}] tbody tr`, (trs) =>
          trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => /** @type {string} */ (td.textContent).trim())),
        );
      const consumers = await rows("consumers");
      const locations = await rows("locations");
      assert.deepEqual(consumers.map((r) => r[0]).sort(), [...CONSUMERS].sort());
      assert.deepEqual(locations.map((r) => r[0]).sort(), [...COLOS].sort());
      const acme = /** @type {string[]} */ (consumers.find((r) => r[0] === "acme"));
      const globex = /** @type {string[]} */ (consumers.find((r) => r[0] === "globex"));
      assert.notEqual(acme[2], "0%", `acme's 5xx %: ${acme[2]}`);
      assert.match(globex[2], /^0(\.0)?%$/);
      assert.match(acme[3], /ms/);
      await page.locator("#who-h").scrollIntoViewIfNeeded();
      await sleep(300);
      await page.screenshot({ path: join(SHOTS, "endpoint-who-and-where.png"), fullPage: true });

      await page.goto(`${monitor.url}/#/incidents/${encodeURIComponent(incident.id)}`);
      await page.waitForSelector("text=only for consumer acme");
      await page.screenshot({ path: join(SHOTS, "incident-names-consumer.png"), fullPage: true });
      assert.deepEqual(chromium.errors, [], "console errors");
    },
  );
});
