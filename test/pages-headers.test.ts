/**
 * The Pages deploy of the dashboard: the `_headers` file the dashboard build writes holds exactly
 * the security headers the worker sets on the dashboard, so the dashboard on Pages (where the
 * worker does not answer) is served with the same CSP, framing, sniffing and referrer rules.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DASHBOARD_HEADERS, pagesHeadersFile } from "../src/http/security-headers";
import { call } from "./helpers";

/** The rules of a Pages `_headers` file: path pattern -> header name -> value. */
function parseHeadersFile(text: string): Map<string, Map<string, string>> {
  const rules = new Map<string, Map<string, string>>();
  let current: Map<string, string> | null = null;
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    if (!/^\s/.test(line)) {
      current = new Map();
      rules.set(line.trim(), current);
      continue;
    }
    const at = line.indexOf(":");
    if (!current || at < 0) throw new Error(`not a header line: ${line}`);
    current.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return rules;
}

describe("Pages _headers", () => {
  it("sends every dashboard path the headers the worker sets on the dashboard", async () => {
    const rules = parseHeadersFile(pagesHeadersFile());
    expect([...rules.keys()]).toEqual(["/*"]);
    const file = rules.get("/*") ?? new Map<string, string>();
    expect(Object.fromEntries(file)).toEqual(DASHBOARD_HEADERS);
    // And what the worker actually answers for the dashboard's page and an asset.
    for (const path of ["/", "/index.html"]) {
      const res = await call(path, { headers: { Accept: "text/html" } });
      expect(res.status).toBe(200);
      for (const [name, value] of file) expect(res.headers.get(name), `${path} ${name}`).toBe(value);
    }
  });

  it("lets the dashboard call an API on another origin (VITE_API_BASE) and changes nothing else", () => {
    const file =
      parseHeadersFile(pagesHeadersFile("https://api.example.com/base/")).get("/*") ?? new Map<string, string>();
    const csp = file.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("connect-src 'self' https://api.example.com;");
    expect(csp.replace(" https://api.example.com", "")).toBe(DASHBOARD_HEADERS["Content-Security-Policy"]);
    for (const [name, value] of Object.entries(DASHBOARD_HEADERS))
      if (name !== "Content-Security-Policy") expect(file.get(name)).toBe(value);
  });

  it("is not served as a file by the worker's assets (the dashboard's page answers instead)", async () => {
    const served = await env.ASSETS.fetch("http://monitor.test/_headers");
    expect(await served.text()).not.toContain("Content-Security-Policy:");
  });
});
