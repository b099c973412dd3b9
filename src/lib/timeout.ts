/** What `withTimeout` rejects with, so that callers can tell a slow call from a failed one. */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}

/** Rejects with a `TimeoutError` when `promise` has not settled within `ms` (the timer is cleared either way). */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    if (timer !== null) clearTimeout(timer);
  });
}
