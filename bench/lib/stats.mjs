// @ts-check
/** Small helpers shared by the benchmarks: medians, the benchmarked source version, CPU time of a process. */
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";

/**
 * Median of a list of numbers (null for an empty list).
 * @param {number[]} values
 */
export function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The commit benchmarked and whether the worker's sources differ from it (read-only git).
 * @param {string} root
 */
export function sourceVersion(root) {
  try {
    /** @param {string[]} args */
    const git = (...args) =>
      execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const changed = git("status", "--porcelain", "--", "src", "migrations", "wrangler.toml", "package.json");
    return { commit: git("rev-parse", "--short", "HEAD"), uncommitted_changes: changed.length > 0 };
  } catch {
    return { commit: null, uncommitted_changes: null };
  }
}

/**
 * CPU seconds (user + system) used so far by one process (Linux /proc; 0 once it is gone).
 * @param {number} pid
 */
export async function processCpuSeconds(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  if (!stat) return 0;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
