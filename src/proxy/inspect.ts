/**
 * Silent-failure and consistency checks on a small response body, from bytes the proxy already
 * streamed to the client (never delaying it). Pure.
 */

/** Bodies larger than this are not inspected. */
export const INSPECT_MAX_BYTES = 64 * 1024;

export interface BodyVerdict {
  /** A 2xx whose body is empty, `null`, `{}` or `[]`. */
  responseEmpty: boolean;
  /** A 2xx whose JSON reports an error, or a 5xx whose JSON claims success. */
  inconsistent: boolean;
}

const ERROR_KEYS = ["error", "errors", "error_message", "errorMessage", "fault"];

function hasError(value: Record<string, unknown>): boolean {
  for (const key of ERROR_KEYS) {
    const v = value[key];
    if (v === undefined || v === null || v === false || v === "") continue;
    if (Array.isArray(v) && v.length === 0) continue;
    return true;
  }
  return (
    value.success === false ||
    value.ok === false ||
    (typeof value.status === "string" && /^(error|fail(ed|ure)?)$/i.test(value.status))
  );
}

function claimsSuccess(value: Record<string, unknown>): boolean {
  return (
    value.success === true ||
    value.ok === true ||
    (typeof value.status === "string" && /^(ok|success(ful)?)$/i.test(value.status))
  );
}

/**
 * Judges a finished response. `body` holds the first bytes (at most INSPECT_MAX_BYTES) and
 * `totalBytes` the full size; larger or non-JSON bodies are only judged for emptiness.
 */
export function inspectBody(args: {
  status: number;
  method: string;
  contentType: string | null;
  body: Uint8Array;
  totalBytes: number;
}): BodyVerdict {
  const verdict: BodyVerdict = { responseEmpty: false, inconsistent: false };
  const success = args.status >= 200 && args.status < 300;
  const bodyless = args.method === "HEAD" || args.status === 204 || args.status === 205;
  if (success && !bodyless && args.totalBytes === 0) return { ...verdict, responseEmpty: true };
  if (args.totalBytes === 0 || args.totalBytes > INSPECT_MAX_BYTES) return verdict;
  if (!/json/i.test(args.contentType ?? "")) return verdict;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(args.body));
  } catch {
    return verdict;
  }
  if (success) {
    if (value === null) return { ...verdict, responseEmpty: true };
    if (Array.isArray(value)) return { ...verdict, responseEmpty: value.length === 0 };
    if (typeof value === "object") {
      const obj = value as Record<string, unknown>;
      if (Object.keys(obj).length === 0) return { ...verdict, responseEmpty: true };
      return { ...verdict, inconsistent: hasError(obj) };
    }
    return verdict;
  }
  if (args.status >= 500 && value !== null && typeof value === "object" && !Array.isArray(value)) {
    return { ...verdict, inconsistent: claimsSuccess(value as Record<string, unknown>) };
  }
  return verdict;
}
