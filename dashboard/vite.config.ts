// Builds the dashboard into dashboard/dist (served by the worker's static assets under
// `npm start`, or deployed to Cloudflare Pages, with a `_headers` file of the worker's dashboard
// security headers). VITE_API_BASE sets the API origin at build time
// (default: the same origin). After the build, the size of the initial JavaScript (the entry
// script and what index.html preloads) is printed gzip-compressed, and the build fails above the
// 150 KB budget.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { defineConfig, type Plugin } from "vite";
import { pagesHeaders } from "./pages-headers";

const BUDGET_BYTES = 150 * 1024;

function initialJsBudget(): Plugin {
  let outDir = "";
  return {
    name: "initial-js-budget",
    apply: "build",
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const html = readFileSync(join(outDir, "index.html"), "utf8");
      const files = [
        ...html.matchAll(/<(?:script[^>]*src|link[^>]*rel="modulepreload"[^>]*href)="\/?([^"]+\.js)"/g),
      ].map((m) => m[1] ?? "");
      let raw = 0;
      let gzip = 0;
      for (const file of files) {
        const bytes = readFileSync(join(outDir, file));
        raw += bytes.length;
        gzip += gzipSync(bytes, { level: 9 }).length;
      }
      const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
      console.log(
        `dashboard initial JS: ${files.length} file(s), ${kb(raw)} raw, ${kb(gzip)} gzip (budget ${kb(BUDGET_BYTES)} gzip)`,
      );
      if (gzip > BUDGET_BYTES) throw new Error(`initial JS is ${kb(gzip)} gzip, over the ${kb(BUDGET_BYTES)} budget`);
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  plugins: [initialJsBudget(), pagesHeaders(process.env.VITE_API_BASE || null)],
  // `npm run dashboard:dev`: the dashboard with hot reload, the API of a running `npm start` behind it.
  server: {
    proxy: Object.fromEntries(
      ["/v1", "/health"].map((path) => [path, process.env.MONITOR_URL ?? "http://127.0.0.1:8787"]),
    ),
  },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", reportCompressedSize: false },
});
