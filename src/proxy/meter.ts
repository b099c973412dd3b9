/**
 * Pass-through streams that measure a body as it flows: bytes, and the first bytes of a response
 * for inspection. Nothing is buffered beyond the bounded inspection window, and chunks are
 * forwarded as they arrive.
 *
 * The response side is a pull-based ReadableStream over the origin's body rather than a
 * TransformStream: its `cancel` is called when the client goes away, and its read loop sees the
 * end, so the end of the exchange is always observed (a transformer's cancel hook is not called
 * by every runtime).
 */
import { INSPECT_MAX_BYTES } from "./inspect";
import { errorMessage } from "../lib/errors";

export interface MeterResult {
  bytes: number;
  /** The first bytes of the body (empty once the body is larger than the inspection window). */
  head: Uint8Array;
  endedAt: number;
  /** True when the client cancelled the body (went away). */
  cancelled: boolean;
  /** Why the origin's body failed mid-way, or null. */
  originError: string | null;
}

/** The origin's body as a stream for the client that calls `onEnd` exactly once, when it is over. */
export function meteredBody(
  source: ReadableStream<Uint8Array>,
  onEnd: (result: MeterResult) => void,
  opts: { captureLimit?: number; expectedLength?: number } = {},
): ReadableStream<Uint8Array> {
  const captureLimit = opts.captureLimit ?? INSPECT_MAX_BYTES;
  const reader = source.getReader();
  let bytes = 0;
  let captured: Uint8Array[] = [];
  let capturedBytes = 0;
  let overflow = false;
  let done = false;
  const finish = (cancelled: boolean, originError: string | null = null) => {
    if (done) return;
    done = true;
    const head = new Uint8Array(overflow ? 0 : capturedBytes);
    let offset = 0;
    for (const chunk of captured) {
      head.set(chunk, offset);
      offset += chunk.byteLength;
    }
    captured = [];
    onEnd({ bytes, head, endedAt: Date.now(), cancelled, originError });
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (err) {
        finish(false, errorMessage(err));
        controller.error(err);
        return;
      }
      if (next.done) {
        controller.close();
        finish(false);
        return;
      }
      const chunk = next.value;
      bytes += chunk.byteLength;
      if (!overflow && capturedBytes + chunk.byteLength <= captureLimit) {
        captured.push(chunk.slice());
        capturedBytes += chunk.byteLength;
      } else if (!overflow) {
        overflow = true; // past the window: stop capturing for good
        captured = [];
      }
      controller.enqueue(chunk);
    },
    async cancel(reason) {
      finish(true);
      await reader.cancel(reason);
    },
    // A known length lets the runtime send Content-Length instead of chunked encoding.
    expectedLength: opts.expectedLength,
  });
}

/** A TransformStream that counts bytes of a request body on its way to the origin; `onEnd` when it is all sent. */
export function countingStream(
  counter: { bytes: number },
  expectedLength?: number,
  onEnd?: () => void,
): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      counter.bytes += chunk.byteLength;
      controller.enqueue(chunk);
    },
    flush() {
      onEnd?.();
    },
    expectedLength,
  });
}
