// The dashboard build writes `_headers` for Cloudflare Pages: the worker's dashboard headers
// (test/pages-headers.test.ts compares those with what the worker answers).
import { describe, expect, it } from "vitest";
import { DASHBOARD_HEADERS, pagesHeadersFile } from "../../src/http/security-headers";
import { pagesHeaders } from "../pages-headers";

/** What the plugin emits into the build, as `{fileName: source}`. */
function emitted(apiBase: string | null): Record<string, string> {
  const files: Record<string, string> = {};
  const hook = pagesHeaders(apiBase).generateBundle;
  const run = typeof hook === "function" ? hook : hook?.handler;
  if (!run) throw new Error("the plugin has no generateBundle hook");
  const context = {
    emitFile: (f: { fileName: string; source: string }) => ((files[f.fileName] = f.source), f.fileName),
  };
  Reflect.apply(run, context, [{}, {}, false]);
  return files;
}

describe("dashboard build: Pages _headers", () => {
  it("emits _headers with every one of the worker's dashboard headers for every path", () => {
    const file = emitted(null)["_headers"] ?? "";
    expect(file).toBe(pagesHeadersFile());
    expect(file.split("\n")[0]).toBe("/*");
    for (const [name, value] of Object.entries(DASHBOARD_HEADERS)) expect(file).toContain(`\n  ${name}: ${value}\n`);
  });

  it("allows the API origin of VITE_API_BASE in connect-src", () => {
    expect(emitted("https://edge-monitor.example.workers.dev")["_headers"]).toContain(
      "connect-src 'self' https://edge-monitor.example.workers.dev;",
    );
  });
});
