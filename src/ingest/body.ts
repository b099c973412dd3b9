/**
 * Body parsing for `POST /v1/logs`: one JSON record, a JSON array, or NDJSON. Pure.
 */
import { ApiError } from "../http/errors";

export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_RECORDS = 1000;

/** One item of the body: either a parsed value or the reason its line was not JSON. */
export type BodyItem = { value: unknown } | { parseError: string };

function parseNdjson(text: string): BodyItem[] {
  const items: BodyItem[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed.length === 0) continue;
    try {
      items.push({ value: JSON.parse(trimmed) });
    } catch {
      items.push({ parseError: "line is not valid JSON" });
    }
  }
  return items;
}

/** Splits a body into its records, or throws 400 when it is neither JSON nor NDJSON, 413 past the record cap. */
export function parseLogBody(text: string, contentType: string | undefined): BodyItem[] {
  if (text.trim().length === 0) throw new ApiError(400, "invalid_body", "the body is empty");
  const ndjson = /(x-ndjson|jsonl|json-seq)/i.test(contentType ?? "");
  let items: BodyItem[];
  if (ndjson) {
    items = parseNdjson(text);
  } else {
    let parsed: unknown;
    let isJson = true;
    try {
      parsed = JSON.parse(text);
    } catch {
      isJson = false;
    }
    if (isJson) {
      if (Array.isArray(parsed)) items = parsed.map((value: unknown) => ({ value }));
      else if (parsed !== null && typeof parsed === "object") items = [{ value: parsed }];
      else
        throw new ApiError(400, "invalid_body", "the body must be a JSON object, a JSON array of objects, or NDJSON");
    } else {
      // NDJSON sent with a JSON content type is still accepted when its lines parse.
      items = parseNdjson(text);
    }
  }
  if (items.length === 0) throw new ApiError(400, "invalid_body", "the body holds no records");
  if (items.every((i) => "parseError" in i)) {
    throw new ApiError(400, "invalid_body", "the body is neither JSON nor NDJSON");
  }
  if (items.length > MAX_RECORDS) {
    throw new ApiError(413, "too_many_records", `at most ${MAX_RECORDS} records per request (got ${items.length})`, {
      max_records: MAX_RECORDS,
    });
  }
  return items;
}
