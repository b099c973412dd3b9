/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of every route (built once per isolate from the
 * registry), and `GET /docs`: the interactive docs page. Both public: they describe the API,
 * they hold no data. The page's CSP allows only its own inline script and style (by hash) and
 * connections to this origin, so a key typed into it can go nowhere else.
 */
import { Hono } from "hono";
import { VERSION } from "../health/checks";
import type { AppEnv } from "../http/types";
import { DOCS_SCRIPT, DOCS_STYLE, docsHtml } from "./docs-page";
import { buildDocument } from "./document";

let documentJson: string | null = null;
let page: { html: string; csp: string } | null = null;

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`;
}

export const openapiApp = new Hono<AppEnv>()
  .get("/openapi.json", (c) => {
    documentJson ??= JSON.stringify(buildDocument(VERSION));
    return c.body(documentJson, 200, { "Content-Type": "application/json; charset=UTF-8", "Access-Control-Allow-Origin": "*" });
  })
  .get("/docs", async (c) => {
    if (!page) {
      const csp = `default-src 'none'; script-src ${await sha256(DOCS_SCRIPT)}; style-src ${await sha256(DOCS_STYLE)}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
      page = { html: docsHtml(), csp };
    }
    return c.html(page.html, 200, { "Content-Security-Policy": page.csp, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer" });
  });
