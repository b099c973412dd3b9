// @ts-check
/**
 * Process groups for `npm run demo` and its test: each child the demo starts leads its own group
 * (spawn `detached`), so that stopping it reaches everything under it (npm start's wrangler and
 * workerd) and nothing else. A group counts as gone when no live process is left in it: zombies
 * are ignored, since in a container nobody may reap the orphans of a dead parent.
 */
import { readFileSync, readdirSync } from "node:fs";
import net from "node:net";

/**
 * Live (non-zombie) processes of a process group: `[{pid, state, comm}]`. Falls back to kill(0) without /proc.
 * @param {number} pgid
 * @returns {{ pid: number; state: string; comm: string }[]}
 */
export function groupMembers(pgid) {
  let entries;
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    try {
      process.kill(-pgid, 0);
      return [{ pid: pgid, state: "?", comm: "?" }];
    } catch {
      return [];
    }
  }
  const members = [];
  for (const name of entries) {
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ")".
    const close = stat.lastIndexOf(")");
    const [state, , pgrp] = stat.slice(close + 2).split(" ");
    if (Number(pgrp) === pgid && state !== "Z" && state !== "X")
      members.push({ pid: Number(name), state, comm: stat.slice(stat.indexOf("(") + 1, close) });
  }
  return members;
}

/**
 * Sends `signal` to a whole process group; false when it is already gone.
 * @param {number} pgid
 * @param {NodeJS.Signals} signal
 */
export function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a process group: `signal`, then SIGKILL if anything is left after `graceMs`. Resolves
 * true when the group is empty.
 * @param {number} pgid
 * @param {NodeJS.Signals} [signal]
 * @param {number} [graceMs]
 */
export async function stopGroup(pgid, signal = "SIGTERM", graceMs = 10_000) {
  signalGroup(pgid, signal);
  /** @param {number} ms */
  const waitEmpty = async (ms) => {
    const deadline = Date.now() + ms;
    while (groupMembers(pgid).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    return groupMembers(pgid).length === 0;
  };
  if (await waitEmpty(graceMs)) return true;
  signalGroup(pgid, "SIGKILL");
  return waitEmpty(3_000);
}

/**
 * Whether nothing listens on 127.0.0.1:`port` (we can bind it).
 * @param {number} port
 * @returns {Promise<boolean>}
 */
export function portFree(port, host = "127.0.0.1") {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
