#!/usr/bin/env node
// @ts-check
/**
 * The summaries' read of one hour with per-endpoint Apdex T overrides, before and after it became
 * one pass (issue 13): the statements each version of src/summaries/sql.ts builds for an hour
 * (bundled by esbuild from `--before <git ref>` and from the working tree), run by the sqlite3 CLI
 * on a local table of `--rows` rows over 24 hours (24 services, 300 endpoints, as
 * bench/logs-layout), with no override, a few, and one per endpoint and service. Not D1 itself:
 * the same SQLite engine without D1's network. Times are the sqlite3 process's wall time, fastest
 * of three (about 2 ms of it is the process start).
 * Usage: node bench/apdex-hour.mjs [--rows 1000000] [--before c3c9a75]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: opts } = parseArgs({
  options: { rows: { type: "string", default: "1000000" }, before: { type: "string", default: "c3c9a75" } },
});
const rows = Number(opts.rows);
if (!Number.isInteger(rows) || rows < 1000 || rows > 20_000_000)
  throw new Error("--rows must be an integer in 1000..20000000");
const tmp = mkdtempSync(join(tmpdir(), "bench-apdex-"));

/** @typedef {{ sql: string, binds: unknown[] }} Bound */
/** @typedef {{ prepare: (sql: string) => { sql: string, bind: (...binds: unknown[]) => Bound } }} Recorder */
/** @typedef {Map<string, { apdex_t_ms?: number, endpoints?: Record<string, { apdex_t_ms: number }> }>} Settings */
/**
 * What this bench uses of src/summaries/sql.ts (after) or of the version before it.
 * @typedef {object} SqlModule
 * @property {(db: Recorder, settings: Settings, from: number, to: number) => Bound} [hourStatement]
 * @property {{ apdex_t_ms: number }} DEFAULT_DETECTION
 * @property {string} HOUR_SQL
 * @property {number} MIN_VALUE
 * @property {{ logGammaOf: () => number }} LatencySketch
 * @property {(db: Recorder, settings: Settings, from: number, to: number) => { statement: Bound }[]} apdexQueries
 */

/**
 * The summaries' SQL module of a source tree, bundled with what it needs to bind an hour.
 * @param {string} srcRoot
 * @param {string} name
 * @returns {Promise<SqlModule>}
 */
async function loadSql(srcRoot, name) {
  const esbuild = await import("esbuild");
  const entry = join(tmp, `${name}-entry.ts`);
  writeFileSync(
    entry,
    [
      `export * from "${srcRoot}/src/summaries/sql.ts";`,
      `export { LatencySketch, MIN_VALUE } from "${srcRoot}/src/detect/sketch.ts";`,
      `export { DEFAULT_DETECTION } from "${srcRoot}/src/detect/config.ts";`,
    ].join("\n"),
  );
  const outfile = join(tmp, `${name}.mjs`);
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outfile,
    logLevel: "silent",
    nodePaths: [join(ROOT, "node_modules")],
  });
  return import(pathToFileURL(outfile).href);
}

/** A D1 stand-in that keeps what was prepared and bound. */
/** @type {Recorder} */
const recorder = { prepare: (sql) => ({ sql, bind: (...binds) => ({ sql, binds }) }) };

/**
 * The statements one version issues for the hour [from, to).
 * @param {SqlModule} m
 * @param {Settings} settings
 * @param {number} from
 * @param {number} to
 */
function hourStatements(m, settings, from, to) {
  if (typeof m.hourStatement === "function") return [m.hourStatement(recorder, settings, from, to)];
  // Before: the grouped read with the default T, then one Apdex read per service and endpoint whose T differs.
  const t = m.DEFAULT_DETECTION.apdex_t_ms;
  const main = recorder.prepare(m.HOUR_SQL).bind(m.MIN_VALUE, m.LatencySketch.logGammaOf(), t, t, 4 * t, from, to);
  return [main, ...m.apdexQueries(recorder, settings, from, to).map((q) => q.statement)];
}

/**
 * The statement with its bound values written in (the `?` outside string literals, in order).
 * @param {Bound} statement
 */
function inline({ sql, binds }) {
  let i = 0;
  let quoted = false;
  let out = "";
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    if (ch !== "?" || quoted) {
      out += ch;
      continue;
    }
    const v = binds[i++];
    out += typeof v === "number" ? String(v) : `'${String(v).replace(/'/g, "''")}'`;
  }
  if (i !== binds.length) throw new Error(`bound ${binds.length} values to ${i} parameters`);
  return out;
}

/**
 * Detection settings: `services` services with a T of their own and `endpoints` endpoints with theirs.
 * @param {number} services
 * @param {number} endpoints
 */
function overrides(services, endpoints) {
  /** @type {Settings} */
  const settings = new Map();
  const svc = (/** @type {number} */ k) => `svc-${String(k).padStart(2, "0")}`;
  for (let s = 0; s < services; s++) settings.set(svc(s), { apdex_t_ms: 200 + s });
  for (let e = 0; e < endpoints; e++) {
    const name = svc(e % 24);
    const entry = settings.get(name) ?? {};
    entry.endpoints = { ...entry.endpoints, [`GET /v1/res${Math.floor(e / 24)}/:id`]: { apdex_t_ms: 100 + e } };
    settings.set(name, entry);
  }
  return settings;
}

/**
 * @param {string} db
 * @param {string} sqlFile
 */
function fastestMs(db, sqlFile) {
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const started = process.hrtime.bigint();
    const run = spawnSync("sqlite3", [db], { input: readFileSync(sqlFile), stdio: ["pipe", "ignore", "pipe"] });
    if (run.status !== 0) throw new Error(`sqlite3: ${run.stderr}`);
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e6);
  }
  return best;
}

try {
  // The table as migration 0009 creates it, filled as bench/logs-layout does.
  const migration = readFileSync(join(ROOT, "migrations", "0009_lean_request_logs.sql"), "utf8");
  const table = /CREATE TABLE `request_logs_lean`[\s\S]*?WITHOUT ROWID;/
    .exec(migration)?.[0]
    .replace("request_logs_lean", "request_logs");
  if (!table) throw new Error("no request_logs table in migration 0009");
  const fill = readFileSync(join(ROOT, "bench", "logs-layout", "common.sql"), "utf8")
    .replace("i < 99999", `i < ${rows - 1}`)
    .replaceAll("i * 864", `i * ${86_400_000 / rows}`);
  const db = join(tmp, "logs.db");
  execFileSync("sqlite3", [db], { input: `${table}\n${fill}` });

  const archive = execFileSync("git", ["-C", ROOT, "archive", "--format=tar", "--prefix=before/", opts.before, "src"], {
    maxBuffer: 1 << 28,
  });
  execFileSync("tar", ["-x", "-C", tmp], { input: archive });
  const versions = { before: await loadSql(join(tmp, "before"), "before"), after: await loadSql(ROOT, "after") };

  const from = 1_790_000_000_000 + 3_600_000;
  /** @type {[string, Settings][]} */
  const scenarios = [
    ["no override", overrides(0, 0)],
    ["4 services and 8 endpoints with their own T", overrides(4, 8)],
    ["every service and endpoint with its own T (24 + 300)", overrides(24, 300)],
  ];
  console.log(
    `one hour of ${Math.round(rows / 24)} rows (table: ${rows} rows over 24 h, 24 services, 300 endpoints); before = ${opts.before}`,
  );
  console.log("| overrides | before: statements, ms | after: statements, ms |\n|---|---|---|");
  for (const [label, settings] of scenarios) {
    const cells = [];
    for (const [name, m] of Object.entries(versions)) {
      const statements = hourStatements(m, settings, from, from + 3_600_000);
      const file = join(tmp, `${name}.sql`);
      writeFileSync(file, statements.map((s) => `${inline(s)};`).join("\n"));
      cells.push(`${statements.length}, ${fastestMs(db, file).toFixed(0)} ms`);
    }
    console.log(`| ${label} | ${cells.join(" | ")} |`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
