// @ts-check
// Bundle budget (`npm run bundle:size`, run by .ci/run after the typecheck): builds the worker as
// `wrangler deploy --dry-run` would upload it and fails when its gzip size is above the budget
// (200 KiB, as issue 17 asks; --max-kib to change it). The size is the sum of the gzipped modules
// in the output folder (source maps excluded: they are uploaded apart and do not count against the
// Workers script size limit). Offline: a dry run contacts no Cloudflare API.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { "max-kib": { type: "string", default: "200" } } });
const maxKiB = Number(values["max-kib"]);
if (!Number.isFinite(maxKiB) || maxKiB <= 0) {
  console.error(`bundle-size: --max-kib must be a positive number, got ${values["max-kib"]}`);
  process.exit(2);
}
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" };

// wrangler.toml's [assets] directory must exist for wrangler to build at all.
if (!existsSync(join(root, "dashboard", "dist", "index.html"))) {
  const build = spawnSync("npm", ["run", "dashboard:build"], { cwd: root, env, stdio: "inherit" });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const outdir = mkdtempSync(join(tmpdir(), "edge-monitor-bundle-"));
try {
  const dry = spawnSync(join(root, "node_modules", ".bin", "wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
    cwd: root,
    env,
    encoding: "utf8",
  });
  if (dry.status !== 0) {
    console.error(dry.stdout, dry.stderr);
    console.error("bundle-size: wrangler deploy --dry-run failed");
    process.exit(dry.status ?? 1);
  }
  const modules = readdirSync(outdir).filter((name) => /\.(m?js|wasm)$/.test(name));
  let raw = 0;
  let gzip = 0;
  for (const name of modules) {
    const bytes = readFileSync(join(outdir, name));
    raw += bytes.length;
    gzip += gzipSync(bytes).length;
  }
  const kib = (/** @type {number} */ n) => (n / 1024).toFixed(2);
  const line = /Total Upload: .*/.exec(dry.stdout)?.[0] ?? "";
  console.log(
    `bundle: ${modules.length} module(s), ${kib(raw)} KiB raw, ${kib(gzip)} KiB gzip (budget ${maxKiB} KiB gzip)${line ? `; wrangler: ${line}` : ""}`,
  );
  if (modules.length === 0 || gzip > maxKiB * 1024) {
    console.error(`bundle-size: the worker is ${kib(gzip)} KiB gzip, above the budget of ${maxKiB} KiB`);
    process.exit(1);
  }
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
