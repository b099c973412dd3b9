// @ts-check
/**
 * V8 heap sizes of a running workerd, read through its DevTools inspector (`npm start --
 * --inspector-port <n>`): one WebSocket per isolate (the worker with its Durable Objects, local
 * D1, R2 and the rest), `Runtime.getHeapUsage` on each. Used by `bench/soak.mjs` to split
 * workerd's anonymous memory into JavaScript heaps and the rest (SQLite's caches, workerd's own).
 * Loopback only.
 */
import { inspectorTargets, openSession } from "./inspector.mjs";

/** Connects to every inspector target on `port`; `usage()` answers {target: {used_kb, total_kb, backing_kb}} (backing_kb: ArrayBuffer backing stores, allocated outside the V8 heap). */
/** @param {number | string} port */
export async function heapSampler(port) {
  /** @type {import("./inspector.mjs").Session[]} */
  const sessions = [];
  for (const target of await inspectorTargets(port)) {
    const session = await openSession(target);
    if (session) sessions.push(session);
  }
  return {
    /** Heap of each isolate, KiB; an isolate too busy to answer within `timeoutMs` is left out. */
    async usage(timeoutMs = 10_000) {
      /** @type {Record<string, { used_kb: number, total_kb: number, backing_kb: number }>} */
      const out = {};
      await Promise.all(
        sessions.map(async (s) => {
          const msg = await s.call("Runtime.getHeapUsage", {}, timeoutMs);
          if (msg?.result)
            out[s.id] = {
              used_kb: Math.round(msg.result.usedSize / 1024),
              total_kb: Math.round(msg.result.totalSize / 1024),
              backing_kb: Math.round((msg.result.backingStorageSize ?? 0) / 1024),
            };
        }),
      );
      return out;
    },
    /**
     * A full garbage collection in every isolate, then their heaps: what JavaScript still holds
     * (V8 collects lazily, so the heap between collections is mostly garbage). workerd 2026-11-03
     * never answers `HeapProfiler.collectGarbage` (and the session then stops answering), so this
     * calls `gc()` in each isolate's context through `Runtime.evaluate`: workerd must run with
     * `MINIFLARE_WORKERD_V8_FLAGS=--expose-gc` (bench/soak.mjs sets it). `collected` counts the
     * isolates where `gc()` ran (0: the heaps returned are as they were, not live data).
     */
    async afterGc(timeoutMs = 10_000) {
      const ran = await Promise.all(
        sessions.map(async (s) => {
          s.contexts.length = 0;
          await s.call("Runtime.enable", {}, timeoutMs);
          // The contexts arrive as events right after Runtime.enable.
          await new Promise((r) => setTimeout(r, 200));
          let any = false;
          for (const ctx of s.contexts) {
            const msg = await s.call(
              "Runtime.evaluate",
              { expression: "typeof gc === 'function' ? (gc(), true) : false", contextId: ctx.id },
              timeoutMs,
            );
            any ||= msg?.result?.result?.value === true;
          }
          await s.call("Runtime.disable", {}, timeoutMs);
          return any;
        }),
      );
      return { collected: ran.filter(Boolean).length, isolates: sessions.length, heaps: await this.usage(timeoutMs) };
    },
    close() {
      for (const s of sessions) s.close();
    },
  };
}
