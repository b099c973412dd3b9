import { describe, expect, it } from "vitest";
import { MAX_RECORDS, parseLogBody, type BodyItem } from "../../src/ingest/body";
import { ApiError } from "../../src/http/errors";

const rec = (n: number) => ({
  timestamp: 1767268800000 + n,
  service: "svc",
  method: "GET",
  path: `/x/${n}`,
  status: 200,
  latency_ms: n,
});

function thrown(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw new Error(`expected an ApiError, got ${String(err)}`, { cause: err });
  }
  throw new Error("expected parseLogBody to throw");
}

function values(items: BodyItem[]): unknown[] {
  return items.map((i) => ("value" in i ? i.value : { parseError: i.parseError }));
}

describe("parseLogBody: JSON", () => {
  it("accepts one JSON object as one record", () => {
    expect(parseLogBody(JSON.stringify(rec(1)), "application/json")).toEqual([{ value: rec(1) }]);
  });

  it("accepts a JSON array as one record per element", () => {
    const body = JSON.stringify([rec(1), rec(2), rec(3)]);
    expect(parseLogBody(body, "application/json")).toEqual([{ value: rec(1) }, { value: rec(2) }, { value: rec(3) }]);
  });

  it("accepts a pretty-printed JSON object over several lines", () => {
    expect(parseLogBody(JSON.stringify(rec(1), null, 2), "application/json")).toEqual([{ value: rec(1) }]);
  });

  it("passes array elements through even when they are not objects (validated later)", () => {
    expect(parseLogBody('[1, "a", null, {"x": 1}]', "application/json")).toEqual([
      { value: 1 },
      { value: "a" },
      { value: null },
      { value: { x: 1 } },
    ]);
  });

  it("parses JSON whatever the content type, or without one", () => {
    const body = JSON.stringify([rec(1)]);
    expect(parseLogBody(body, undefined)).toEqual([{ value: rec(1) }]);
    expect(parseLogBody(body, "text/plain")).toEqual([{ value: rec(1) }]);
    expect(parseLogBody(body, "application/json; charset=utf-8")).toEqual([{ value: rec(1) }]);
  });

  it("tolerates surrounding whitespace", () => {
    expect(parseLogBody(`\n  ${JSON.stringify(rec(1))}  \n`, "application/json")).toEqual([{ value: rec(1) }]);
  });
});

describe("parseLogBody: NDJSON", () => {
  const ndjson = [rec(1), rec(2), rec(3)].map((r) => JSON.stringify(r)).join("\n");

  it("splits NDJSON by line with content type application/x-ndjson", () => {
    expect(parseLogBody(ndjson, "application/x-ndjson")).toEqual([
      { value: rec(1) },
      { value: rec(2) },
      { value: rec(3) },
    ]);
  });

  it.each(["application/x-ndjson; charset=utf-8", "application/jsonl", "application/json-seq", "APPLICATION/X-NDJSON"])(
    "recognises the NDJSON content type %s",
    (contentType) => {
      expect(parseLogBody(ndjson, contentType)).toHaveLength(3);
    },
  );

  it("treats a single line as one record under the NDJSON content type", () => {
    expect(parseLogBody(JSON.stringify(rec(1)), "application/x-ndjson")).toEqual([{ value: rec(1) }]);
  });

  it("accepts NDJSON sent as application/json", () => {
    expect(parseLogBody(ndjson, "application/json")).toEqual([{ value: rec(1) }, { value: rec(2) }, { value: rec(3) }]);
  });

  it("accepts NDJSON sent without a content type", () => {
    expect(parseLogBody(ndjson, undefined)).toHaveLength(3);
  });

  it("skips blank lines and handles CRLF and a trailing newline", () => {
    const body = `${JSON.stringify(rec(1))}\r\n\r\n   \n${JSON.stringify(rec(2))}\r\n`;
    expect(parseLogBody(body, "application/x-ndjson")).toEqual([{ value: rec(1) }, { value: rec(2) }]);
  });

  it("reports malformed lines as parseError items, in place", () => {
    const body = `${JSON.stringify(rec(1))}\n{not json\n${JSON.stringify(rec(2))}\n{"a":`;
    const items = parseLogBody(body, "application/x-ndjson");
    expect(items).toEqual([
      { value: rec(1) },
      { parseError: "line is not valid JSON" },
      { value: rec(2) },
      { parseError: "line is not valid JSON" },
    ]);
  });

  it("reports malformed lines of NDJSON sent as JSON", () => {
    const body = `${JSON.stringify(rec(1))}\nnope`;
    expect(values(parseLogBody(body, "application/json"))).toEqual([rec(1), { parseError: "line is not valid JSON" }]);
  });

  it("keeps scalar lines as values (validated later)", () => {
    expect(parseLogBody(`${JSON.stringify(rec(1))}\n42`, "application/x-ndjson")).toEqual([
      { value: rec(1) },
      { value: 42 },
    ]);
  });
});

describe("parseLogBody: rejected bodies", () => {
  it.each(["", "   ", "\n\n\t"])("rejects the empty body %j with 400", (body) => {
    const err = thrown(() => parseLogBody(body, "application/json"));
    expect(err.status).toBe(400);
    expect(err.code).toBe("invalid_body");
    expect(err.message).toBe("the body is empty");
  });

  it("rejects an empty NDJSON body with 400", () => {
    const err = thrown(() => parseLogBody("\n\n", "application/x-ndjson"));
    expect(err.status).toBe(400);
    expect(err.code).toBe("invalid_body");
  });

  it.each(["hello world", "<xml/>", "{not json", "a=1&b=2"])("rejects the non-JSON body %j with 400", (body) => {
    const err = thrown(() => parseLogBody(body, "application/json"));
    expect(err.status).toBe(400);
    expect(err.code).toBe("invalid_body");
    expect(err.message).toBe("the body is neither JSON nor NDJSON");
  });

  it("rejects NDJSON whose every line is malformed with 400", () => {
    const err = thrown(() => parseLogBody("{a\n{b\n", "application/x-ndjson"));
    expect(err.status).toBe(400);
    expect(err.code).toBe("invalid_body");
  });

  it.each(["42", '"a string"', "true", "null"])("rejects the scalar JSON %s with 400", (body) => {
    const err = thrown(() => parseLogBody(body, "application/json"));
    expect(err.status).toBe(400);
    expect(err.code).toBe("invalid_body");
    expect(err.message).toContain("JSON object");
  });

  it("rejects an empty JSON array with 400", () => {
    const err = thrown(() => parseLogBody("[]", "application/json"));
    expect(err.status).toBe(400);
    expect(err.code).toBe("invalid_body");
    expect(err.message).toBe("the body holds no records");
  });
});

describe("parseLogBody: record cap", () => {
  it(`accepts exactly ${MAX_RECORDS} records`, () => {
    expect(MAX_RECORDS).toBe(1000);
    const body = JSON.stringify(Array.from({ length: MAX_RECORDS }, (_, i) => rec(i)));
    expect(parseLogBody(body, "application/json")).toHaveLength(MAX_RECORDS);
  });

  it("rejects more than 1000 JSON records with 413 too_many_records", () => {
    const body = JSON.stringify(Array.from({ length: MAX_RECORDS + 1 }, (_, i) => rec(i)));
    const err = thrown(() => parseLogBody(body, "application/json"));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(413);
    expect(err.code).toBe("too_many_records");
    expect(err.message).toContain("1001");
    expect(err.details).toEqual({ max_records: MAX_RECORDS });
  });

  it("rejects more than 1000 NDJSON lines with 413", () => {
    const body = Array.from({ length: 1500 }, (_, i) => JSON.stringify(rec(i))).join("\n");
    const err = thrown(() => parseLogBody(body, "application/x-ndjson"));
    expect(err.status).toBe(413);
    expect(err.code).toBe("too_many_records");
    expect(err.message).toContain("1500");
  });

  it("counts malformed NDJSON lines towards the cap", () => {
    const lines = Array.from({ length: MAX_RECORDS }, (_, i) => JSON.stringify(rec(i)));
    lines.push("{broken");
    const err = thrown(() => parseLogBody(lines.join("\n"), "application/x-ndjson"));
    expect(err.status).toBe(413);
  });

  it("does not count blank NDJSON lines towards the cap", () => {
    const lines = Array.from({ length: MAX_RECORDS }, (_, i) => JSON.stringify(rec(i)));
    expect(parseLogBody(`${lines.join("\n\n")}\n\n`, "application/x-ndjson")).toHaveLength(MAX_RECORDS);
  });
});
