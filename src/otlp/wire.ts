/**
 * The protobuf wire format, as far as an OTLP trace export needs it: a reader of the fields
 * `decodeTraceRequest` takes (varints, fixed64, length-delimited), skipping every other field,
 * and the few bytes of an `ExportTraceServiceResponse`. It replaced @bufbuild/protobuf and the
 * generated schema in the Worker (about 78 KiB of the bundle, 18 KiB gzip: the library reflects
 * over descriptors to decode); the tests still encode with that library, so the two are checked
 * against each other. Malformed bytes (a truncated field, a wire type that does not exist or does
 * not fit its field) throw. Pure.
 */

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

const text = new TextDecoder();

/** A cursor over `bytes[pos, end)`. */
export class WireReader {
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    public pos = 0,
    public readonly end = bytes.length,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** An unsigned varint (up to 64 bits). */
  varint(): bigint {
    let out = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new RangeError("truncated varint");
      const b = this.bytes[this.pos++] ?? 0;
      out |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, out);
    }
    throw new RangeError("varint too long");
  }

  /** A varint that fits a JavaScript number (tags, lengths, enums). */
  small(): number {
    return Number(this.varint());
  }

  fixed64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  double(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** The bytes of a length-delimited field (a view, not a copy). */
  bytesField(): Uint8Array {
    const length = this.small();
    this.need(length);
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  string(): string {
    return text.decode(this.bytesField());
  }

  /** A reader over an embedded message. */
  message(): WireReader {
    const length = this.small();
    this.need(length);
    const inner = new WireReader(this.bytes, this.pos, this.pos + length);
    this.pos += length;
    return inner;
  }

  /** Skips a field of wire type `wire`. */
  skip(wire: number): void {
    if (wire === VARINT) this.varint();
    else if (wire === FIXED64) this.advance(8);
    else if (wire === LEN) this.advance(this.small());
    else if (wire === FIXED32) this.advance(4);
    else throw new RangeError(`unsupported wire type ${wire}`);
  }

  private advance(n: number): void {
    this.need(n);
    this.pos += n;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new RangeError("truncated field");
  }
}

/** Field readers of a message by field number: each states the wire type it expects. */
export type FieldReaders = Record<number, readonly [wire: number, read: (r: WireReader) => unknown]>;

/** Reads every field of `r` (to its end) with `fields`, skipping the others. */
export function readMessage(r: WireReader, fields: FieldReaders): void {
  while (r.pos < r.end) {
    const tag = r.small();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new RangeError("field number 0");
    const reader = fields[field];
    if (!reader) {
      r.skip(wire);
      continue;
    }
    if (reader[0] !== wire) throw new RangeError(`field ${field}: wire type ${wire}, expected ${reader[0]}`);
    reader[1](r);
  }
}

export const WIRE = { VARINT, FIXED64, LEN, FIXED32 } as const;

function varintBytes(value: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** A length-delimited field `field` holding `payload`. */
export function lenField(field: number, payload: readonly number[] | Uint8Array): number[] {
  return [...varintBytes(BigInt(field * 8 + LEN)), ...varintBytes(BigInt(payload.length)), ...payload];
}

/** A varint field `field`. */
export function varintField(field: number, value: bigint): number[] {
  return [...varintBytes(BigInt(field * 8 + VARINT)), ...varintBytes(value)];
}
