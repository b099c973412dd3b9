// @ts-check
/**
 * What the browser end-to-end tests (the dashboard's, and the proxy isolation test) share:
 * Debian's headless Chromium (never a downloaded browser) driven by playwright-core, one page that records its console errors and uncaught
 * exceptions, a screenshots folder under bench/results/, the API called with a key, a webhook
 * receiver on loopback, and the sign-in and hash-route visits of the dashboard. The monitor itself comes from start-monitor.mjs.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import http from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const CHROMIUM = "/usr/bin/chromium";
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Why the browser test `name` is skipped (printed once), or false when Chromium is there.
 * @param {string} name
 */
export function browserSkip(name) {
  if (existsSync(CHROMIUM)) return false;
  const why = `${CHROMIUM} is absent: install Debian's chromium (apt-get install chromium; .ci/run does) to run this browser test`;
  console.log(`# SKIPPED ${name} browser test: ${why}`);
  return why;
}

/** A new folder bench/results/screenshots-<tag>-<time>/ (or screenshots-<time>/ without a tag), created. */
export function screenshotsDir(tag = "") {
  const dir = join(
    ROOT,
    "bench",
    "results",
    `screenshots-${tag ? `${tag}-` : ""}${new Date().toISOString().replace(/[:.]/g, "-")}`,
  );
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Debian's Chromium, headless, through playwright-core. */
export async function launchChromium() {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** What `openBrowser` answers. @typedef {Awaited<ReturnType<typeof openBrowser>>} OpenBrowser */

/** The JSON-answering API caller of `apiClient`. @typedef {ReturnType<typeof apiClient>} Api */

/**
 * Chromium with one page of `width` x 900. `errors` fills with the page's console errors and
 * uncaught exceptions (`errors.splice(0)` takes and clears them); `close()` closes the browser.
 */
export async function openBrowser(width = 1280) {
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  /** @type {string[]} */
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(`uncaught: ${e.message}`));
  return { browser, page, errors, close: () => browser.close() };
}

/**
 * `api(path, key, init)`: the JSON answer (null for a 204) of a call to `base` with a key, asserting a 2xx.
 * @param {string} base
 * @param {string | undefined} defaultKey
 */
export function apiClient(base, defaultKey) {
  /**
   * @param {string} path
   * @param {string | undefined} [key]
   * @param {RequestInit & { headers?: Record<string, string> }} [init]
   */
  return async (path, key = defaultKey, init = {}) => {
    const res = await fetch(`${base}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json", ...init.headers },
    });
    assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`);
    return res.status === 204 ? null : res.json();
  };
}

/**
 * Signs in to the dashboard at `base` with `key` and waits for its shell.
 * @param {import("playwright-core").Page} page
 * @param {string} base
 * @param {string} key
 */
export async function signIn(page, base, key) {
  await page.goto(`${base}/`);
  await page.fill("#api-key", key);
  await page.click("form.login button[type=submit]");
  await page.waitForSelector("#last-updated");
}

/**
 * Opens a hash route and waits until its data has loaded (the shell marks main with the hash), then for `ready`.
 * @param {import("playwright-core").Page} page
 * @param {string} base
 * @param {string} hash
 * @param {string} [ready]
 */
export async function visit(page, base, hash, ready) {
  await page.goto(`${base}/${hash}`);
  await page.waitForFunction(
    () => location.hash !== "" && document.querySelector("main")?.dataset.ready === location.hash,
  );
  if (ready) await page.waitForSelector(ready);
}

/** A webhook receiver on a free loopback port that answers "ok" to everything; `onHook` runs per request. */
export async function startReceiver(onHook = () => {}) {
  const receiver = http.createServer((req, res) => {
    onHook();
    req.resume();
    req.on("end", () => res.end("ok"));
  });
  await /** @type {Promise<void>} */ (new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve)));
  return receiver;
}
