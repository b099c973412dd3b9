/**
 * The little the client needs of Node beyond the fetch API, typed here so that the package has
 * neither runtime dependencies nor a dependency on `@types/node`: timers that do not keep the
 * process alive, and `process` for flushing when it is about to exit. Both are optional, so the
 * core also runs where they do not exist (Deno, Bun, browsers, Workers).
 */

interface NodeProcess {
  once(event: "beforeExit", listener: () => void): unknown;
  off?(event: "beforeExit", listener: () => void): unknown;
  removeListener(event: "beforeExit", listener: () => void): unknown;
}

/** True for Node's Timeout object (it has `unref`), false for the number other runtimes return. */
function canUnref(timer: unknown): timer is { unref(): void } {
  return typeof timer === "object" && timer !== null && "unref" in timer && typeof timer.unref === "function";
}

/** A timer that does not by itself keep a Node process running. */
export function backgroundTimer(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
  const timer: unknown = setTimeout(fn, ms);
  if (canUnref(timer)) timer.unref();
  return timer as ReturnType<typeof setTimeout>;
}

/** Waits `ms` without keeping the process alive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => backgroundTimer(resolve, ms));
}

/** Node's `process`, when there is one. */
export function nodeProcess(): NodeProcess | undefined {
  const p: unknown = (globalThis as { process?: unknown }).process;
  return typeof p === "object" && p !== null && "once" in p && typeof p.once === "function"
    ? (p as NodeProcess)
    : undefined;
}
