/**
 * V8 heap sizes of a running workerd, read through its DevTools inspector (`npm start --
 * --inspector-port <n>`): one WebSocket per isolate (the worker with its Durable Objects, local
 * D1, R2 and the rest), `Runtime.getHeapUsage` on each. Used by `bench/soak.mjs` to split
 * workerd's anonymous memory into JavaScript heaps and the rest (SQLite's caches, workerd's own).
 * Loopback only.
 */
import { inspectorTargets, openSession } from "./inspector.mjs";

/** Connects to every inspector target on `port`; `usage()` answers {target: {used_kb, total_kb}}. */
export async function heapSampler(port) {
  const sessions = [];
  for (const target of await inspectorTargets(port)) {
    const session = await openSession(target);
    if (session) sessions.push(session);
  }
  return {
    /** Heap of each isolate, KiB; an isolate too busy to answer within `timeoutMs` is left out. */
    async usage(timeoutMs = 10_000) {
      const out = {};
      await Promise.all(
        sessions.map(async (s) => {
          const msg = await s.call("Runtime.getHeapUsage", {}, timeoutMs);
          if (msg?.result) out[s.id] = { used_kb: Math.round(msg.result.usedSize / 1024), total_kb: Math.round(msg.result.totalSize / 1024) };
        }),
      );
      return out;
    },
    /**
     * A full garbage collection in every isolate, then their heaps: what JavaScript still holds
     * (V8 collects lazily, so the heap between collections is mostly garbage).
     */
    async afterGc(timeoutMs = 30_000) {
      for (const s of sessions) {
        await s.call("HeapProfiler.enable", {}, timeoutMs);
        await s.call("HeapProfiler.collectGarbage", {}, timeoutMs);
      }
      return this.usage(timeoutMs);
    },
    close() {
      for (const s of sessions) s.close();
    },
  };
}
