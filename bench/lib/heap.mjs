/**
 * V8 heap sizes of a running workerd, read through its DevTools inspector (`npm start --
 * --inspector-port <n>`): one WebSocket per isolate (the worker with its Durable Objects, local
 * D1, R2 and the rest), `Runtime.getHeapUsage` on each. Used by `bench/soak.mjs` to split
 * workerd's anonymous memory into JavaScript heaps and the rest (SQLite's caches, workerd's own).
 * Loopback only.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const WebSocket = require("ws");

/** Connects to every inspector target on `port`; `usage()` answers {target: {used_kb, total_kb}}. */
export async function heapSampler(port) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const sessions = [];
  for (const target of targets) {
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    const open = await new Promise((resolve) => (ws.once("open", () => resolve(true)), ws.once("error", () => resolve(false))));
    if (!open) continue;
    let nextId = 0;
    const pending = new Map();
    ws.on("message", (m) => {
      const msg = JSON.parse(String(m));
      pending.get(msg.id)?.(msg);
      pending.delete(msg.id);
    });
    const call = (method, timeoutMs, params = {}) =>
      new Promise((resolve) => {
        const id = ++nextId;
        const timer = setTimeout(() => (pending.delete(id), resolve(null)), timeoutMs);
        pending.set(id, (msg) => (clearTimeout(timer), resolve(msg)));
        ws.send(JSON.stringify({ id, method, params }));
      });
    sessions.push({ id: target.id, ws, call });
  }
  return {
    /** Heap of each isolate, KiB; an isolate too busy to answer within `timeoutMs` is left out. */
    async usage(timeoutMs = 10_000) {
      const out = {};
      await Promise.all(
        sessions.map(async (s) => {
          const msg = await s.call("Runtime.getHeapUsage", timeoutMs);
          if (msg?.result) out[s.id] = { used_kb: Math.round(msg.result.usedSize / 1024), total_kb: Math.round(msg.result.totalSize / 1024) };
        }),
      );
      return out;
    },
    /**
     * A full garbage collection in every isolate, then their heaps: what JavaScript still holds
     * (V8 collects lazily, so the heap between collections is mostly garbage). workerd 2026-11-03
     * never answers `HeapProfiler.collectGarbage` and its inspector sessions then stop answering
     * anything: the request goes to all isolates at once, waits at most `timeoutMs`, and the heaps
     * are read through fresh sessions. `collected` counts the isolates that confirmed a collection
     * (0: the figures are heaps as they were, not live data).
     */
    async afterGc(timeoutMs = 10_000) {
      const answers = await Promise.all(
        sessions.map(async (s) => {
          await s.call("HeapProfiler.enable", timeoutMs);
          return s.call("HeapProfiler.collectGarbage", timeoutMs);
        }),
      );
      const collected = answers.filter((a) => a?.result).length;
      this.close();
      const fresh = await heapSampler(port);
      const heaps = await fresh.usage(timeoutMs);
      fresh.close();
      return { collected, isolates: sessions.length, heaps };
    },
    close() {
      for (const s of sessions) s.ws.close();
    },
  };
}
