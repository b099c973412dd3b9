// @ts-check
// The built package for the tests: `node build.mjs` runs first when dist/ is missing or older
// than any source it bundles (the client's src/ and the monitor's src/ingest/ modules), so a test
// file run alone never tests a stale build.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const stamp = join(root, "dist/esm/index.js");

/** @param {string} dir */
function newest(dir) {
  return Math.max(
    ...readdirSync(dir)
      .filter((f) => f.endsWith(".ts"))
      .map((f) => statSync(join(dir, f)).mtimeMs),
  );
}

/** Builds the package unless dist/ is newer than its sources; answers the package folder. */
export function ensureBuilt() {
  const sources = Math.max(
    newest(join(root, "src")),
    newest(join(root, "../../src/ingest")),
    statSync(join(root, "build.mjs")).mtimeMs,
  );
  if (!existsSync(stamp) || statSync(stamp).mtimeMs < sources)
    execFileSync(process.execPath, [join(root, "build.mjs")], { stdio: "inherit" });
  return root;
}
