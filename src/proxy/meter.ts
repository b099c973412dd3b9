/**
 * A pass-through stream that measures a body as it flows to the client: bytes, the first bytes
 * for inspection, and the moment it ended (flush) or the client went away (cancel). Nothing is
 * buffered beyond the bounded inspection window, and chunks are forwarded as they arrive.
 */
import { INSPECT_MAX_BYTES } from "./inspect";

export interface MeterResult {
  bytes: number;
  /** The first bytes of the body (empty once the body is larger than the inspection window). */
  head: Uint8Array;
  endedAt: number;
  /** True when the client cancelled the stream before it ended. */
  cancelled: boolean;
}

/** A TransformStream that calls `onEnd` exactly once when the body is finished or cancelled. */
export function meterStream(
  onEnd: (result: MeterResult) => void,
  opts: { captureLimit?: number; expectedLength?: number } = {},
): TransformStream<Uint8Array, Uint8Array> {
  const captureLimit = opts.captureLimit ?? INSPECT_MAX_BYTES;
  let bytes = 0;
  let captured: Uint8Array[] = [];
  let capturedBytes = 0;
  let overflow = false;
  let done = false;
  const finish = (cancelled: boolean) => {
    if (done) return;
    done = true;
    const head = new Uint8Array(overflow ? 0 : capturedBytes);
    let offset = 0;
    for (const chunk of captured) {
      head.set(chunk, offset);
      offset += chunk.byteLength;
    }
    captured = [];
    onEnd({ bytes, head, endedAt: Date.now(), cancelled });
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
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
    flush() {
      finish(false);
    },
    cancel() {
      finish(true);
    },
    // A known length lets the runtime send Content-Length instead of chunked encoding.
    expectedLength: opts.expectedLength,
  });
}

/** A TransformStream that counts bytes of a request body on its way to the origin. */
export function countingStream(counter: { bytes: number }, expectedLength?: number): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      counter.bytes += chunk.byteLength;
      controller.enqueue(chunk);
    },
    expectedLength,
  });
}
