// @ts-check
/**
 * What a process's resident memory is made of, read from Linux /proc (used by `bench/soak.mjs`
 * for the workerd processes): /proc/PID/status (VmRSS, RssAnon, RssFile, RssShmem),
 * /proc/PID/smaps_rollup, and /proc/PID/smaps summed by what backs each mapping. The question it
 * answers: does the RSS that grows during a soak belong to files the kernel can drop (SQLite
 * databases mapped into memory, the binary) or to anonymous memory (heaps) that only the process
 * can give back. The parsers are pure; `readProcessMemory` does the reading.
 */
import { readFile, readdir, readlink } from "node:fs/promises";

const KB_LINE = /^(\w+):\s+(\d+) kB$/;

/**
 * @typedef {object} SmapsGroup
 * @property {number} mappings
 * @property {number} size_kb
 * @property {number} rss_kb
 * @property {number} anonymous_kb
 * @property {number} private_dirty_kb
 * @property {boolean} file_backed
 */

/**
 * The `kB` fields of a /proc status, smaps_rollup or one smaps block, as {name: kB}.
 * @param {string} text
 */
export function parseKbFields(text) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const line of text.split("\n")) {
    const m = KB_LINE.exec(line.trim());
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/;
const GIB = 1024 * 1024; // in kB

/**
 * The group a mapping is counted in: a SQLite file (`sqlite:<name>` for the database, its -shm
 * and -wal), another file (`file:<name>`), or for anonymous memory `[heap]`, `[stack]`, and
 * `anon >= 1 GiB reservation` (V8's pointer cage and sandbox, allocator arenas reserved up
 * front) apart from `anon < 1 GiB` (everything mapped piecemeal).
 * @param {string} path
 * @param {number} sizeKb
 */
export function mappingGroup(path, sizeKb) {
  if (path.startsWith("[")) return path.startsWith("[stack") ? "[stack]" : path;
  if (path === "") return sizeKb >= GIB ? "anon >= 1 GiB reservation" : "anon < 1 GiB";
  const name =
    path
      .replace(/ \(deleted\)$/, "")
      .split("/")
      .pop() ?? path;
  if (/\.sqlite(-shm|-wal|-journal)?$/.test(name)) return `sqlite:${name}`;
  return `file:${name}`;
}

/**
 * /proc/PID/smaps summed by `mappingGroup`: {group: {mappings, size_kb, rss_kb, anonymous_kb,
 * private_dirty_kb, file_backed}} (size_kb is the virtual size mapped; rss_kb what of it is
 * resident; anonymous_kb the resident part that is not a clean page of a file, e.g. copy-on-write).
 * @param {string} text
 */
export function groupSmaps(text) {
  /** @type {Record<string, SmapsGroup>} */
  const groups = {};
  /** @type {{ group: string, fileBacked: boolean, fields: Record<string, number> } | null} */
  let current = null;
  const flush = () => {
    if (!current) return;
    const g = (groups[current.group] ??= {
      mappings: 0,
      size_kb: 0,
      rss_kb: 0,
      anonymous_kb: 0,
      private_dirty_kb: 0,
      file_backed: current.fileBacked,
    });
    g.mappings += 1;
    g.size_kb += current.fields.Size ?? 0;
    g.rss_kb += current.fields.Rss ?? 0;
    g.anonymous_kb += current.fields.Anonymous ?? 0;
    g.private_dirty_kb += current.fields.Private_Dirty ?? 0;
  };
  for (const line of text.split("\n")) {
    const head = HEADER.exec(line);
    if (head) {
      flush();
      const sizeKb = (parseInt(head[2], 16) - parseInt(head[1], 16)) / 1024;
      const path = head[5].trim();
      current = { group: mappingGroup(path, sizeKb), fileBacked: head[4] !== "0", fields: {} };
      continue;
    }
    const m = KB_LINE.exec(line.trim());
    if (m && current) current.fields[m[1]] = Number(m[2]);
  }
  flush();
  return groups;
}

/**
 * Sums several processes' `groupSmaps` results.
 * @param {Record<string, SmapsGroup>[]} list
 */
export function mergeGroups(list) {
  /** @type {Record<string, SmapsGroup>} */
  const out = {};
  for (const groups of list) {
    for (const [name, g] of Object.entries(groups)) {
      const o = (out[name] ??= {
        mappings: 0,
        size_kb: 0,
        rss_kb: 0,
        anonymous_kb: 0,
        private_dirty_kb: 0,
        file_backed: g.file_backed,
      });
      for (const k of /** @type {const} */ (["mappings", "size_kb", "rss_kb", "anonymous_kb", "private_dirty_kb"]))
        o[k] += g[k];
    }
  }
  return out;
}

/**
 * One process's memory: status fields, smaps_rollup fields, smaps by group, the SQLite files it
 * has open (from /proc/PID/fd) and its thread names (a tcmalloc background-release thread would
 * show there). Null when the process is gone.
 * @param {number} pid
 */
export async function readProcessMemory(pid, { smaps = true } = {}) {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => null);
  if (status === null) return null;
  const s = parseKbFields(status);
  const rollup = parseKbFields(await readFile(`/proc/${pid}/smaps_rollup`, "utf8").catch(() => ""));
  const groups = smaps ? groupSmaps(await readFile(`/proc/${pid}/smaps`, "utf8").catch(() => "")) : null;
  const openSqlite = [];
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    if (/\.sqlite(-shm|-wal|-journal)?$/.test(target)) openSqlite.push(target);
  }
  const threads = [];
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [])) {
    threads.push((await readFile(`/proc/${pid}/task/${tid}/comm`, "utf8").catch(() => "?")).trim());
  }
  return {
    pid,
    rss_kb: s.VmRSS ?? 0,
    anon_kb: s.RssAnon ?? 0,
    file_kb: s.RssFile ?? 0,
    shmem_kb: s.RssShmem ?? 0,
    rollup: pick(rollup, [
      "Rss",
      "Pss",
      "Pss_Anon",
      "Pss_File",
      "Pss_Shmem",
      "Shared_Clean",
      "Shared_Dirty",
      "Private_Clean",
      "Private_Dirty",
      "Anonymous",
      "AnonHugePages",
      "Swap",
    ]),
    groups,
    open_sqlite: openSqlite,
    threads,
  };
}

/**
 * @param {Record<string, number>} obj
 * @param {string[]} keys
 */
function pick(obj, keys) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const k of keys) if (k in obj) out[k] = obj[k];
  return out;
}
