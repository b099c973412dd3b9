// @ts-check
// node --test bench/lib/*.test.mjs: the /proc parsers and the soak's "flat" verdict.
import assert from "node:assert/strict";
import { test } from "node:test";
import { groupSmaps, mappingGroup, mergeGroups, parseKbFields, readProcessMemory } from "./proc-mem.mjs";
import { flatVerdict, slopeBetween } from "./rss.mjs";

const SMAPS = `55d0c0000000-55d0c4000000 r-xp 00000000 08:01 1234   /x/bin/workerd
Size:              65536 kB
Rss:               60000 kB
Anonymous:             0 kB
Private_Dirty:         0 kB
7f0000000000-7f0000100000 rw-s 00000000 08:01 99     /state/d1/abc.sqlite-shm
Size:               1024 kB
Rss:                  32 kB
Anonymous:             0 kB
Private_Dirty:        32 kB
7f0000200000-7f0000600000 rw-p 00000000 00:00 0 
Size:               4096 kB
Rss:                3000 kB
Anonymous:          3000 kB
Private_Dirty:      3000 kB
7f1000000000-7f1000800000 rw-p 00000000 00:00 0 
Size:               8192 kB
Rss:                1000 kB
Anonymous:          1000 kB
Private_Dirty:      1000 kB
7f2000000000-7f2040000000 ---p 00000000 00:00 0 
Size:            1048576 kB
Rss:                   0 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0      [stack]
Size:                132 kB
Rss:                  40 kB
Anonymous:            40 kB
`;

test("groupSmaps sums resident memory by what backs it", () => {
  const g = groupSmaps(SMAPS);
  assert.deepEqual(g["file:workerd"], {
    mappings: 1,
    size_kb: 65536,
    rss_kb: 60000,
    anonymous_kb: 0,
    private_dirty_kb: 0,
    file_backed: true,
  });
  assert.equal(g["sqlite:abc.sqlite-shm"].rss_kb, 32);
  assert.equal(g["sqlite:abc.sqlite-shm"].file_backed, true);
  assert.deepEqual(g["anon < 1 GiB"], {
    mappings: 2,
    size_kb: 12288,
    rss_kb: 4000,
    anonymous_kb: 4000,
    private_dirty_kb: 4000,
    file_backed: false,
  });
  assert.equal(g["anon >= 1 GiB reservation"].rss_kb, 0);
  assert.equal(g["[stack]"].rss_kb, 40);
});

test("mappingGroup tells SQLite files, other files and anonymous memory apart", () => {
  assert.equal(mappingGroup("/s/v3/do/x/1f.sqlite", 10), "sqlite:1f.sqlite");
  assert.equal(mappingGroup("/s/db.sqlite-wal (deleted)", 10), "sqlite:db.sqlite-wal");
  assert.equal(mappingGroup("/usr/lib/libc.so.6", 10), "file:libc.so.6");
  assert.equal(mappingGroup("", 2 * 1024 * 1024), "anon >= 1 GiB reservation");
  assert.equal(mappingGroup("[heap]", 10), "[heap]");
  assert.equal(mappingGroup("[stack:123]", 10), "[stack]");
});

test("mergeGroups adds processes together", () => {
  const one = groupSmaps(SMAPS);
  const both = mergeGroups([one, one]);
  assert.equal(both["file:workerd"].rss_kb, 120000);
  assert.equal(both["anon < 1 GiB"].mappings, 4);
});

test("parseKbFields reads status and smaps_rollup", () => {
  const f = parseKbFields("Name:\tworkerd\nVmRSS:\t  500 kB\nRssAnon:\t  400 kB\nRssFile:\t 100 kB\nThreads:\t8\n");
  assert.deepEqual(f, { VmRSS: 500, RssAnon: 400, RssFile: 100 });
});

test("readProcessMemory reads this process (Linux)", { skip: process.platform !== "linux" }, async () => {
  const m = await readProcessMemory(process.pid);
  assert.ok(m);
  assert.ok(m.rss_kb > 0 && m.anon_kb > 0 && m.file_kb > 0);
  assert.equal(m.rss_kb, m.anon_kb + m.file_kb + m.shmem_kb);
  const resident = Object.values(/** @type {Record<string, import("./proc-mem.mjs").SmapsGroup>} */ (m.groups)).reduce(
    (n, g) => n + g.rss_kb,
    0,
  );
  // smaps and status are read a moment apart: within 10%.
  assert.ok(Math.abs(resident - m.rollup.Rss) < m.rollup.Rss * 0.1, `${resident} vs ${m.rollup.Rss}`);
  assert.ok(m.threads.length >= 1);
  assert.equal(await readProcessMemory(2 ** 22 + 1), null);
});

test("slopeBetween and flatVerdict: growth after warm-up, MiB per minute", () => {
  // 2 MiB a minute after 60 s, steep before it (warm-up).
  const samples = [];
  for (let t = 0; t <= 600; t += 10)
    samples.push({ t_s: t, kb: t < 60 ? t * 1024 * 5 : 300 * 1024 + ((t - 60) / 60) * 2 * 1024 });
  assert.equal(slopeBetween(samples, 60, 600), 2);
  assert.equal(slopeBetween(samples, 700, 800), null);
  assert.equal(flatVerdict(2, 1).flat, false);
  assert.equal(flatVerdict(0.5, 1).flat, true);
  assert.equal(flatVerdict(null, 1).flat, false);
  // A flat slope over too short a window is no pass.
  assert.equal(flatVerdict(0.5, 1, 71, 300).flat, false);
  assert.match(flatVerdict(0.5, 1, 71, 300).reason, /inconclusive/);
  assert.equal(flatVerdict(0.5, 1, 400, 300).flat, true);
});
