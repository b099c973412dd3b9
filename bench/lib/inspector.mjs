// @ts-check
/**
 * The DevTools inspector of a running workerd (`npm start -- --inspector-port <n>`): its targets
 * (one per isolate: the worker with its Durable Objects, local D1, R2 and the rest) and a
 * WebSocket session per target that sends a protocol method and awaits its answer. Shared by
 * bench/lib/heap.mjs and bench/cpu-profile.mjs. Loopback only.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const WebSocket = /** @type {typeof import("./ws.js").WebSocket} */ (require("ws"));

/** @typedef {{ id: number, result?: any, error?: unknown, method?: string, params?: any }} ProtocolMessage */
/** @typedef {{ id: string, webSocketDebuggerUrl: string }} InspectorTarget */
/**
 * @typedef {object} Session
 * @property {string} id
 * @property {(method: string, params?: object, timeoutMs?: number) => Promise<ProtocolMessage | null>} call
 * @property {{ id: number }[]} contexts
 * @property {() => void} close
 */

/**
 * The inspector targets on `port` (`[{id, webSocketDebuggerUrl, ...}]`).
 * @param {number | string} port
 * @returns {Promise<InspectorTarget[]>}
 */
export async function inspectorTargets(port) {
  return (await fetch(`http://127.0.0.1:${port}/json`)).json();
}

/**
 * A session with one target, or null when its WebSocket does not open. `call(method, params,
 * timeoutMs)` answers the protocol's reply (`{id, result}` or `{id, error}`), or null when none
 * came within `timeoutMs` (no limit when absent); `contexts` collects the execution contexts the
 * target announces once `Runtime.enable` was called.
 * @param {InspectorTarget} target
 * @returns {Promise<Session | null>}
 */
export async function openSession(target) {
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  const open = await new Promise(
    (resolve) => (ws.once("open", () => resolve(true)), ws.once("error", () => resolve(false))),
  );
  if (!open) return null;
  let nextId = 0;
  /** @type {Map<number, (msg: ProtocolMessage) => void>} */
  const pending = new Map();
  // Execution contexts announced after `Runtime.enable` (bench/lib/heap.mjs evaluates `gc()` in each).
  /** @type {{ id: number }[]} */
  const contexts = [];
  ws.on("message", (/** @type {unknown} */ m) => {
    /** @type {ProtocolMessage} */
    const msg = JSON.parse(String(m));
    if (msg.method === "Runtime.executionContextCreated") contexts.push(msg.params.context);
    pending.get(msg.id)?.(msg);
    pending.delete(msg.id);
  });
  /** @type {Session["call"]} */
  const call = (method, params = {}, timeoutMs) =>
    new Promise((resolve) => {
      const id = ++nextId;
      const timer =
        timeoutMs === undefined ? undefined : setTimeout(() => (pending.delete(id), resolve(null)), timeoutMs);
      pending.set(id, (msg) => (clearTimeout(timer), resolve(msg)));
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { id: target.id, call, contexts, close: () => ws.close() };
}
