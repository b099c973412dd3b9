// @ts-check
/**
 * Polls `fn` every `intervalMs` until it answers something truthy and answers that; throws
 * "timed out waiting for <what>" after `timeoutMs`. The end-to-end tests' one way to wait for the
 * monitor (or a browser page) to get somewhere.
 * @template T
 * @param {string} what
 * @param {() => T | Promise<T>} fn
 * @param {number} [timeoutMs]
 * @param {number} [intervalMs]
 * @returns {Promise<NonNullable<T>>}
 */
export async function until(what, fn, timeoutMs = 30_000, intervalMs = 300) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
