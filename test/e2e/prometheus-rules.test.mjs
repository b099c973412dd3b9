// @ts-check
// The Prometheus files shipped in prometheus/: the alert rules pass `promtool check rules` and
// their unit tests (`promtool test rules`: burn rates fire and stop as intended, flapping ingest
// counters stay quiet), and the example config (which loads the rules) passes `promtool check
// config`. Skipped with a message where promtool is missing (Debian package prometheus; .ci/run
// installs it).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const RULES = "prometheus/edge-monitor-rules.yml";
const RULE_TESTS = "prometheus/edge-monitor-rules.test.yml";
const CONFIG = "prometheus/prometheus.yml";
const hasPromtool = spawnSync("promtool", ["--version"], { stdio: "ignore" }).error === undefined;
const SKIP = "promtool is not on PATH (Debian package prometheus; .ci/run installs it)";

/** @param {string[]} args */
function promtool(...args) {
  const r = spawnSync("promtool", args, { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test("promtool check rules: the alert rules are valid", (t) => {
  if (!hasPromtool) return t.skip(SKIP);
  const r = promtool("check", "rules", RULES);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /SUCCESS: \d+ rules found/);
});

test("promtool test rules: the alerts fire, and stay quiet, as their unit tests expect", (t) => {
  if (!hasPromtool) return t.skip(SKIP);
  const r = promtool("test", "rules", RULE_TESTS);
  assert.equal(r.status, 0, r.output);
});

test("promtool check config: the scrape-config example is valid and loads the rules", (t) => {
  const config = readFileSync(join(ROOT, CONFIG), "utf8");
  assert.match(config, /^\s+- edge-monitor-rules\.yml/m, "the example config references the rules file");
  if (!hasPromtool) return t.skip(SKIP);
  const r = promtool("check", "config", CONFIG);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /SUCCESS: 1 rule files found/);
});

test("the rules only use series that GET /metrics exports", () => {
  const exported = new Set();
  const source = readFileSync(join(ROOT, "src/metrics/exposition.ts"), "utf8");
  for (const [, name] of source.matchAll(/"(edge_monitor_[a-z_]+)"/g)) exported.add(name);
  const rules = readFileSync(join(ROOT, RULES), "utf8");
  const used = new Set([...rules.matchAll(/(?<![:\w])(edge_monitor_[a-z_]+)/g)].map((m) => m[1]));
  const histogram = /_(bucket|count|sum)$/;
  const missing = [...used].filter((n) => !exported.has(n) && !exported.has(n.replace(histogram, "")));
  assert.deepEqual(missing, [], `series the rules use but /metrics does not export: ${missing.join(", ")}`);
  assert.ok(used.size >= 6, `expected the rules to cover the exported families, saw ${[...used].join(", ")}`);
});
