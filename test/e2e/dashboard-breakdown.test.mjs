// End-to-end (issue 16, item 4): the dashboard in Debian's headless Chromium against `npm start`
// (test/e2e/start-monitor.mjs). An endpoint's traffic comes from 6 consumers in 4 colos; its last
// minutes fail for consumer acme only. The incident names acme in its explanation, and the
// endpoint page shows both breakdowns (name, requests, 5xx %, p95) with acme's 5xx. Screenshots
// go to bench/results/screenshots-breakdown-<time>/ (printed). Skipped, saying why, when
// /usr/bin/chromium is absent.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { startMonitor } from "./start-monitor.mjs";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SHOTS = join(ROOT, "bench", "results", `screenshots-breakdown-${new Date().toISOString().replace(/[:.]/g, "-")}`);
const MINUTE = 60_000;
const CONSUMERS = ["acme", "globex", "initech", "umbrella", "hooli", "stark"];
const COLOS = ["FRA", "AMS", "LHR", "IAD"];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: install Debian's chromium to run this browser test`;
if (skip) console.log(`# SKIPPED dashboard breakdown browser test: ${skip}`);

let monitor;
let browser;
let page;
const errors = [];

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
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    mkdirSync(SHOTS, { recursive: true });
    console.log(`# dashboard breakdown screenshots: ${SHOTS}`);
  });

  after(async () => {
    await browser?.close();
    await monitor?.stop();
  });

  test("the incident names the consumer and the endpoint page shows both breakdowns", { timeout: 180_000 }, async () => {
    const records = traffic();
    for (let i = 0; i < records.length; i += 1000) await api("/v1/logs?sync=1", monitor.ingestKey, { method: "POST", body: JSON.stringify(records.slice(i, i + 1000)) });
    const incident = await until("an incident naming acme", async () => {
      const { incidents } = await api("/v1/incidents?service=who", monitor.readKey);
      return incidents.find((i) => i.concentration?.some((c) => c.names.includes("acme")));
    });
    assert.match(incident.explanation, /5xx only for consumer acme/);

    await page.goto(`${monitor.url}/`);
    await page.fill("#api-key", monitor.readKey);
    await page.click("form.login button[type=submit]");
    await page.waitForSelector("#last-updated");
    await page.goto(`${monitor.url}/#/endpoints/who/GET/${encodeURIComponent("/orders/:id")}?range=1h`);
    await page.waitForSelector("table[data-breakdown=consumers] tbody tr");
    const rows = async (which) =>
      page.$$eval(`table[data-breakdown=${which}] tbody tr`, (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent.trim())));
    const consumers = await rows("consumers");
    const locations = await rows("locations");
    assert.deepEqual(consumers.map((r) => r[0]).sort(), [...CONSUMERS].sort());
    assert.deepEqual(locations.map((r) => r[0]).sort(), [...COLOS].sort());
    const acme = consumers.find((r) => r[0] === "acme");
    const globex = consumers.find((r) => r[0] === "globex");
    assert.notEqual(acme[2], "0%", `acme's 5xx %: ${acme[2]}`);
    assert.match(globex[2], /^0(\.0)?%$/);
    assert.match(acme[3], /ms/);
    await page.locator("#who-h").scrollIntoViewIfNeeded();
    await sleep(300);
    await page.screenshot({ path: join(SHOTS, "endpoint-who-and-where.png"), fullPage: true });

    await page.goto(`${monitor.url}/#/incidents/${encodeURIComponent(incident.id)}`);
    await page.waitForSelector("text=only for consumer acme");
    await page.screenshot({ path: join(SHOTS, "incident-names-consumer.png"), fullPage: true });
    assert.deepEqual(errors, [], "console errors");
  });
});
