// @ts-check
// Builds the package: each entry point bundled by esbuild as ESM (dist/esm/*.js) and CommonJS
// (dist/cjs/*.cjs), with the monitor's own redaction and route templating (src/redact/, src/ingest/route-template.ts) bundled
// in, and the types emitted by tsc (dist/types/). No runtime dependencies: hono is types only.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const entries = ["index", "express", "fastify", "node", "hono", "next"];
const entryPoints = entries.map((e) => join(here, "src", `${e}.ts`));
/** @type {import("esbuild").BuildOptions} */
const common = { entryPoints, bundle: true, platform: "neutral", target: "es2022", logLevel: "warning" };

rmSync(join(here, "dist"), { recursive: true, force: true });
await build({ ...common, format: "esm", outdir: join(here, "dist/esm") });
await build({ ...common, format: "cjs", outdir: join(here, "dist/cjs"), outExtension: { ".js": ".cjs" } });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(here, "tsconfig.json")], { stdio: "inherit" });
