import { describe, expect, it } from "vitest";
import { countingStream, meteredBody, type MeterResult } from "../../src/proxy/meter";

function source(chunks: Uint8Array[], failAfter?: number): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (failAfter !== undefined && i === failAfter) {
        controller.error(new Error("origin reset"));
        return;
      }
      const chunk = chunks[i++];
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
  });
}

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe("meteredBody", () => {
  it("passes every chunk through and reports the end once, with the bytes and the head", async () => {
    const ends: MeterResult[] = [];
    const body = meteredBody(source([new TextEncoder().encode('{"a":'), new TextEncoder().encode("1}")]), (r) =>
      ends.push(r),
    );
    expect(await new Response(body).text()).toBe('{"a":1}');
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ bytes: 7, cancelled: false });
    expect(new TextDecoder().decode(ends[0]?.head)).toBe('{"a":1}');
  });

  it("reports a client that cancels mid-body, with the bytes it had read", async () => {
    const ends: MeterResult[] = [];
    const body = meteredBody(source([bytes(100), bytes(100), bytes(100), bytes(100)]), (r) => ends.push(r));
    const reader = body.getReader();
    await reader.read();
    await reader.cancel("client went away");
    expect(ends).toHaveLength(1);
    expect(ends[0]?.cancelled).toBe(true);
    expect(ends[0]?.bytes).toBeGreaterThanOrEqual(100);
    expect(ends[0]?.bytes).toBeLessThan(400);
  });

  it("reports an origin that breaks off as an origin error, not a client that left, and errors the client's stream", async () => {
    const ends: MeterResult[] = [];
    const body = meteredBody(source([bytes(10), bytes(10)], 1), (r) => ends.push(r));
    await expect(new Response(body).arrayBuffer()).rejects.toThrow();
    expect(ends).toEqual([expect.objectContaining({ cancelled: false, originError: "origin reset", bytes: 10 })]);
  });

  it("stops capturing past the inspection window but keeps counting", async () => {
    const ends: MeterResult[] = [];
    const body = meteredBody(source([bytes(6), bytes(6)]), (r) => ends.push(r), { captureLimit: 8 });
    expect((await new Response(body).arrayBuffer()).byteLength).toBe(12);
    expect(ends[0]?.bytes).toBe(12);
    expect(ends[0]?.head.byteLength).toBe(0);
  });
});

describe("countingStream", () => {
  it("counts the bytes that pass", async () => {
    const counter = { bytes: 0 };
    const out = source([bytes(5), bytes(7)]).pipeThrough(countingStream(counter));
    expect((await new Response(out).arrayBuffer()).byteLength).toBe(12);
    expect(counter.bytes).toBe(12);
  });
});
