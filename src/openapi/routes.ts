/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of every route (built once per isolate from the
 * app's own route table), and `GET /docs`: the interactive docs page. Both public: they describe
 * the API, they hold no data. The page's CSP allows only its own inline script and style (by hash)
 * and connections to this origin, so a key typed into it can go nowhere else.
 */
import { Hono } from "hono";
import * as z from "zod";
import { VERSION } from "../health/checks";
import { defineRoute } from "../http/route";
import type { AppEnv } from "../http/types";
import { DOCS_SCRIPT, DOCS_STYLE, docsHtml } from "./docs-page";
import { buildDocument, documentedRoutes } from "./document";

type AppRoutes = () => readonly { method: string; path: string; handler: unknown }[];

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`;
}

/** The docs routes, describing the routes `appRoutes` returns (the whole app's, read at the first request). */
export function openapiApp(appRoutes: AppRoutes): Hono<AppEnv> {
  let documentJson: string | null = null;
  let page: { html: string; csp: string } | null = null;
  const app = new Hono<AppEnv>();
  defineRoute(
    app,
    {
      method: "GET",
      path: "/openapi.json",
      key: "none",
      tag: "Docs",
      summary: "This document",
      responses: {
        200: {
          description: "OpenAPI 3.1",
          schema: z.object({
            openapi: z.literal("3.1.0"),
            info: z.object({ title: z.string(), version: z.string() }),
            paths: z.record(z.string(), z.unknown()),
          }),
        },
      },
    },
    (c) => {
      documentJson ??= JSON.stringify(buildDocument(VERSION, documentedRoutes(appRoutes())));
      return c.body(documentJson, 200, {
        "Content-Type": "application/json; charset=UTF-8",
        "Access-Control-Allow-Origin": "*",
      });
    },
  );
  defineRoute(
    app,
    {
      method: "GET",
      path: "/docs",
      key: "none",
      tag: "Docs",
      summary: "Interactive API docs (HTML)",
      responses: { 200: { description: "the page", contentType: "text/html" } },
    },
    async (c) => {
      if (!page) {
        const csp = `default-src 'none'; script-src ${await sha256(DOCS_SCRIPT)}; style-src ${await sha256(DOCS_STYLE)}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
        page = { html: docsHtml(), csp };
      }
      return c.html(page.html, 200, {
        "Content-Security-Policy": page.csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
      });
    },
  );
  return app;
}
