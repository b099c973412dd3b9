// @ts-check
// End-to-end (issue 16, items 2, 3, 6): the dashboard in Debian's headless Chromium against
// `npm start` with a fresh state folder. A service gets a maintenance window and a deploy marker,
// then a latency step 3 minutes after the deploy inside the window: the incident is marked in
// maintenance, names the deploy, and no alert goes out; the endpoint and incident charts draw the
// window and the marker (with a text legend); signing in with the read key logs nothing in the
// console (no failing admin request); the traffic line has no drop to 0 at its right edge.
// Screenshots go to bench/results/screenshots-markers-<time>/ (printed). Skipped, saying why,
// when /usr/bin/chromium is absent.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createRng } from "../../scripts/lib/prng.mjs";
import {
  apiClient,
  browserSkip,
  openBrowser,
  screenshotsDir,
  signIn,
  sleep,
  startReceiver,
  visit as visitIn,
} from "./dashboard-browser.mjs";
import { startMonitor } from "./start-monitor.mjs";
import { until } from "./until.mjs";

const MINUTE = 60_000;
const skip = browserSkip("dashboard markers");

/** @type {import("./start-monitor.mjs").Monitor} */
let monitor;
/** @type {string} */
let BASE;
/** @type {string} */
let SHOTS;
/** @type {import("node:http").Server} */
let receiver;
let hooks = 0;
/** @type {import("./dashboard-browser.mjs").OpenBrowser} */
let chromium;
/** @type {import("playwright-core").Page} */
let page;
/** @type {import("./dashboard-browser.mjs").Api} */
let api;
let keys = /** @type {{ ingest: string; read: string; admin: string }} */ ({});
let deployAt = 0;
let trafficEnd = 0;

/** @param {string} where */
function assertNoConsoleErrors(where) {
  assert.deepEqual(chromium.errors.splice(0), [], `console errors on ${where}`);
}

/**
 * @param {string} hash
 * @param {string} [ready]
 */
const visit = (hash, ready) => visitIn(page, BASE, hash, ready);

/** @param {string} name */
async function shoot(name) {
  await sleep(300);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/**
 * Steady traffic on GET /orders/:id, with a latency step for the last `stepMinutes`, up to the minute in progress (none in it).
 * @param {number} total
 * @param {number} stepMinutes
 */
function traffic(total, stepMinutes) {
  const end = Math.floor(Date.now() / MINUTE) * MINUTE;
  const start = end - total * MINUTE;
  /** @type {ReturnType<typeof minuteOf>} */
  const out = [];
  const random = createRng(7).uniform;
  for (let m = 0; m < total; m++) {
    const step = m >= total - stepMinutes;
    for (let i = 0; i < 40; i++) {
      const base = step ? 400 : 80;
      out.push({
        timestamp: start + m * MINUTE + Math.floor((i + random()) * (MINUTE / 40)),
        service: "shop",
        method: "GET",
        path: `/orders/${i}`,
        route: "/orders/:id",
        status: random() < 0.002 ? 503 : 200,
        latency_ms: Math.round(base * Math.exp(0.3 * (random() + random() + random() - 1.5)) * 10) / 10,
      });
    }
  }
  trafficEnd = end;
  return { records: out, stepStart: end - stepMinutes * MINUTE };
}

/**
 * Records of GET /orders/:id in [from, from + MINUTE): `n` of them, slow as in the step.
 * @param {number} from
 * @param {number} n
 */
function minuteOf(from, n) {
  return Array.from({ length: n }, (_, i) => ({
    timestamp: from + Math.floor((i * MINUTE) / n),
    service: "shop",
    method: "GET",
    path: `/orders/${i}`,
    route: "/orders/:id",
    status: 200,
    latency_ms: 400,
  }));
}

describe("dashboard: maintenance windows and deploy markers in headless Chromium", { skip }, () => {
  before(
    async () => {
      SHOTS = screenshotsDir("markers");
      receiver = await startReceiver(() => hooks++);
      monitor = await startMonitor("markers", { vars: { ALLOW_LOOPBACK_ALERT_URLS: "true" } });
      BASE = monitor.url;
      keys = /** @type {typeof keys} */ ({ ingest: monitor.ingestKey, read: monitor.readKey, admin: monitor.adminKey });
      api = apiClient(BASE, keys.read);
      chromium = await openBrowser();
      page = chromium.page;
      console.log(`# dashboard markers screenshots: ${SHOTS}`);
    },
    { timeout: 180_000 },
  );

  after(async () => {
    await chromium?.close();
    receiver?.close();
    await monitor?.stop();
  });

  test("signing in with the read key logs nothing in the console", async () => {
    await signIn(page, BASE, keys.read);
    assert.match(/** @type {string} */ (await page.locator(".role").textContent()), /read key/);
    assertNoConsoleErrors("the sign-in with the read key");
  });

  test(
    "a latency step 3 minutes after a deploy, inside a maintenance window: marked, named, not alerted",
    { timeout: 180_000 },
    async () => {
      await api("/v1/alert-channels", keys.admin, {
        method: "POST",
        body: JSON.stringify({
          type: "webhook",
          name: "markers",
          url: `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (receiver.address()).port}/hook`,
          secret: `whsec_${randomBytes(32).toString("base64")}`,
        }),
      });
      const { records, stepStart } = traffic(100, 20);
      deployAt = stepStart - 3 * MINUTE;
      await api("/v1/maintenance", keys.admin, {
        method: "POST",
        body: JSON.stringify({
          service: "shop",
          starts_at: stepStart - 10 * MINUTE,
          duration_minutes: 90,
          reason: "origin migration",
        }),
      });
      await api("/v1/deploys", keys.ingest, {
        method: "POST",
        body: JSON.stringify({ service: "shop", version: "v1.42", at: deployAt, description: "checkout rewrite" }),
      });
      for (let i = 0; i < records.length; i += 1000)
        await api("/v1/logs?sync=1", keys.ingest, { method: "POST", body: JSON.stringify(records.slice(i, i + 1000)) });
      const incident = await until(
        "the latency incident",
        async () => (await api("/v1/incidents?service=shop")).incidents[0],
        60_000,
      );
      assert.equal(incident.in_maintenance, true);
      assert.equal(incident.deploy?.version, "v1.42");
      assert.match(incident.explanation, /Started [3-5] min after deploy v1\.42 of shop\./);
      await sleep(3000);
      assert.equal(hooks, 0, "no alert inside the maintenance window");
    },
  );

  test("the endpoint's charts draw the window and the deploy marker, and the traffic line does not fall to 0 at its edge", async () => {
    // Live traffic up to now: the last finished minute full (40), the minute in progress with 5 so far.
    while (Date.now() % MINUTE > 40_000) await sleep(500);
    const current = Math.floor(Date.now() / MINUTE) * MINUTE;
    const topUp = [
      ...(current - MINUTE >= trafficEnd ? minuteOf(current - MINUTE, 40) : []),
      ...minuteOf(current, 5).filter((r) => r.timestamp < Date.now()),
    ];
    for (let t = trafficEnd; t < current - MINUTE; t += MINUTE) topUp.push(...minuteOf(t, 40));
    await api("/v1/logs?sync=1", keys.ingest, { method: "POST", body: JSON.stringify(topUp) });
    await visit(`#/endpoints/shop/GET/${encodeURIComponent("/orders/:id")}?range=1h`, "figure.chart canvas");
    const legend = /** @type {string} */ (await page.locator(".chart-context").textContent());
    assert.match(legend, /Deploys: v1\.42 at /);
    assert.match(legend, /Maintenance: .*\(maintenance: origin migration\)/);
    // The drawn canvas holds the marker's violet and the window's blue.
    const colours = await page.$$eval("figure.chart canvas", (list) =>
      /** @type {HTMLCanvasElement[]} */ (list).map((c) => {
        const data = /** @type {CanvasRenderingContext2D} */ (c.getContext("2d")).getImageData(
          0,
          0,
          c.width,
          c.height,
        ).data;
        let violet = 0;
        let blue = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
          if (r > 100 && r < 140 && g > 40 && g < 80 && b > 215) violet++;
          if (r > 25 && r < 60 && g > 85 && g < 115 && b > 220) blue++;
        }
        return { violet, blue };
      }),
    );
    assert.ok(colours.length >= 4, "four charts");
    for (const c of colours)
      assert.ok(c.violet > 20 && c.blue > 20, `marker and window drawn: ${JSON.stringify(colours)}`);
    // The traffic chart's newest value is a full minute (about 40/min), not the minute in progress.
    const last = await page.evaluate(() => {
      const rows = [...document.querySelectorAll("figure.chart")].find((f) =>
        f.querySelector("figcaption")?.textContent?.startsWith("Traffic"),
      );
      return rows?.querySelector("p.sr-only")?.textContent ?? "";
    });
    assert.match(last, /Latest (3\d|4\d)(\.\d)?\/min/);
    await shoot("endpoint-1h");
    assertNoConsoleErrors("the endpoint page");
  });

  test("the incident page says it opened in maintenance and after the deploy, and its charts show both", async () => {
    const incident = (await api("/v1/incidents?service=shop")).incidents[0];
    await visit(`#/incidents/${encodeURIComponent(incident.id)}`, "figure.chart canvas");
    assert.match(
      /** @type {string} */ (await page.locator(".maintenance-note").textContent()),
      /Opened inside maintenance window mnt_/,
    );
    assert.match(
      /** @type {string} */ (await page.locator(".deploy-note").textContent()),
      /Deploy v1\.42 at .*checkout rewrite/,
    );
    assert.match(/** @type {string} */ (await page.locator(".chart-context").textContent()), /Deploys: v1\.42/);
    await shoot("incident");
    await visit("#/incidents", "table.incidents");
    assert.match(
      /** @type {string} */ (await page.locator("table.incidents tbody tr").first().textContent()),
      /maintenance/,
    );
    assertNoConsoleErrors("the incident pages");
  });
});
