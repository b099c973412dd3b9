// The dashboard build's `_headers` for Cloudflare Pages (kept apart from vite.config.ts so that
// the dashboard's tests can run it without Node's types).
import type { Plugin } from "vite";
import { pagesHeadersFile } from "../src/http/security-headers";

/**
 * Writes dist/_headers: the worker's dashboard headers for Cloudflare Pages, which serves the
 * build without the worker, with the API's origin (`apiBase`: VITE_API_BASE) in connect-src.
 */
export function pagesHeaders(apiBase: string | null): Plugin {
  return {
    name: "pages-headers",
    apply: "build",
    generateBundle() {
      this.emitFile({ type: "asset", fileName: "_headers", source: pagesHeadersFile(apiBase) });
    },
  };
}
