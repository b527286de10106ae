/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors): an 8-byte little-endian u64
 * header length N, N bytes of UTF-8 JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}`,
 * then the data section, which the offsets index. Works on bytes only (no `fs`) so the browser and Node share it.
 *
 * The header is untrusted input: every field is checked before any view is made, and every failure is an
 * EffnetError('SAFETENSORS') naming the source, the tensor and the problem.
 *
 * Typed-array views use the host's byte order; every WebGPU host is little-endian, as the format is.
 */
import { EffnetError } from './errors.js';

export const DTYPE_BYTES = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
} as const;
export type Dtype = keyof typeof DTYPE_BYTES;

export interface TensorInfo {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: number[];
  /** Offset of the first byte within the file (header included). */
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly numel: number;
  /** Values as f32. F32 is a zero-copy view into the file when 4-byte aligned (writes go to the file). */
  f32(): Float32Array;
  /** IEEE half bits: F16 zero-copy when 2-byte aligned; F32 and BF16 rounded to nearest even. */
  f16Bits(): Uint16Array;
  /** The tensor's bytes, as a view into the file. */
  raw(): Uint8Array;
}

export interface SafetensorsFile {
  readonly metadata: Record<string, string>;
  /** In header order (as JSON.parse yields it: integer-like names would come first). */
  readonly tensors: Map<string, TensorInfo>;
  names(): string[];
  get(name: string): TensorInfo;
  has(name: string): boolean;
}

export interface ParseOptions {
  /** Names the bytes in error messages, e.g. the file path or URL. */
  source?: string;
  /** Refuse headers longer than this (default 100 MiB): a corrupt length must not trigger a huge decode. */
  maxHeaderBytes?: number;
}

type View<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number };

/**
 * A tensor over its bytes in a weights file (a safetensors file, a PyTorch checkpoint's storage): a view into
 * the file where the layout allows, converted to f32 or f16 on request.
 */
export class StoredTensor implements TensorInfo {
  readonly byteLength: number;
  constructor(
    readonly name: string,
    readonly dtype: Dtype,
    readonly shape: number[],
    /** Where the tensor's first element lies in the file. */
    readonly byteOffset: number,
    readonly numel: number,
    /** Exactly the tensor's bytes. */
    private readonly bytes: Uint8Array,
    private readonly source: string,
  ) {
    this.byteLength = bytes.length;
  }

  raw(): Uint8Array {
    return this.bytes;
  }

  /** Typed arrays need an offset aligned to their element size; when the file does not give one, copy. */
  private view<T>(ctor: View<T>): T {
    // Alignment counts in the underlying ArrayBuffer.
    return this.bytes.byteOffset % ctor.BYTES_PER_ELEMENT === 0
      ? new ctor(this.bytes.buffer, this.bytes.byteOffset, this.numel)
      : new ctor(this.bytes.slice().buffer, 0, this.numel);
  }

  private unsupported(to: string): EffnetError {
    return new EffnetError('SAFETENSORS', `${this.source}: tensor '${this.name}': cannot convert ${this.dtype} to ${to}`);
  }

  f32(): Float32Array {
    switch (this.dtype) {
      case 'F32': return this.view(Float32Array);
      case 'F16': {
        const bits = this.view(Uint16Array), table = halfTable(), out = new Float32Array(this.numel);
        for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
        return out;
      }
      case 'BF16': {
        // BF16 is the top half of an f32, so shifting the bits into place is exact (NaN payloads included).
        const bits = this.view(Uint16Array), out = new Uint32Array(this.numel);
        for (let i = 0; i < bits.length; i++) out[i] = bits[i]! << 16;
        return new Float32Array(out.buffer);
      }
      case 'F64': return Float32Array.from(this.view(Float64Array));
      case 'I32': return Float32Array.from(this.view(Int32Array));
      case 'U32': return Float32Array.from(this.view(Uint32Array));
      case 'I16': return Float32Array.from(this.view(Int16Array));
      case 'U16': return Float32Array.from(this.view(Uint16Array));
      case 'I8': return Float32Array.from(this.view(Int8Array));
      case 'U8': case 'BOOL': return Float32Array.from(this.raw());
      case 'I64': case 'U64': throw this.unsupported('f32');
    }
  }

  f16Bits(): Uint16Array {
    if (this.dtype === 'F16') return this.view(Uint16Array);
    let f32bits: Uint32Array;
    if (this.dtype === 'F32') f32bits = this.view(Uint32Array);
    else if (this.dtype === 'BF16') f32bits = new Uint32Array(this.f32().buffer);
    else throw this.unsupported('f16');
    const out = new Uint16Array(this.numel);
    for (let i = 0; i < out.length; i++) out[i] = f32BitsToF16Bits(f32bits[i]!);
    return out;
  }
}

export function parseSafetensors(bytes: ArrayBuffer | Uint8Array, opts: ParseOptions = {}): SafetensorsFile {
  const source = opts.source ?? '<buffer>';
  const file = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const fail = failWith(source);

  if (file.length < 8) fail(`file is ${file.length} bytes, shorter than the 8-byte header length`);
  const n = headerLength(file, opts, fail);
  if (n > file.length - 8) fail(`header length ${n} exceeds file size (${file.length - 8} bytes after the length)`);
  const dataStart = 8 + n, dataLength = file.length - dataStart;
  const { metadata, entries } = parseHeader(file.subarray(8, dataStart), fail, dataLength);
  const tensors = new Map<string, TensorInfo>();
  for (const { name, dtype, shape, begin, end, numel } of entries) {
    tensors.set(name, new StoredTensor(name, dtype, shape, dataStart + begin, numel, file.subarray(dataStart + begin, dataStart + end), source));
  }

  // Overlap check: sorted by start, a tensor overlaps an earlier one iff it starts before the furthest end so far
  // (the end of the previous tensor, once the ones before it are known not to overlap). Empty tensors own no bytes.
  const byStart = [...tensors.values()].filter((t) => t.byteLength > 0).sort((a, b) => a.byteOffset - b.byteOffset);
  for (let i = 1; i < byStart.length; i++) {
    const prev = byStart[i - 1]!, cur = byStart[i]!;
    if (cur.byteOffset < prev.byteOffset + prev.byteLength) {
      fail(`tensors '${prev.name}' and '${cur.name}' overlap in the data section`);
    }
  }

  return {
    metadata,
    tensors,
    names: () => [...tensors.keys()],
    has: (name) => tensors.has(name),
    get: (name) => tensors.get(name) ?? fail(`no tensor named '${name}' (the file has ${tensors.size} tensors)`),
  };
}

/**
 * The size of the file a safetensors header describes (the header, then data up to the furthest tensor's end),
 * from the file's first bytes alone: `need` while `head` does not yet hold the whole header. A malformed header
 * is the SAFETENSORS error parseSafetensors would raise.
 */
export function safetensorsFileSize(head: Uint8Array, opts: ParseOptions = {}): number | { need: number } {
  if (head.length < 8) return { need: 8 };
  const fail = failWith(opts.source ?? '<buffer>');
  const n = headerLength(head, opts, fail);
  if (head.length < 8 + n) return { need: 8 + n };
  const { entries } = parseHeader(head.subarray(8, 8 + n), fail);
  return 8 + n + entries.reduce((most, e) => Math.max(most, e.end), 0);
}

type Fail = (msg: string) => never;

const failWith = (source: string): Fail => (msg) => {
  throw new EffnetError('SAFETENSORS', `${source}: ${msg}`);
};

/** The u64 header length at the start of `file` (at least 8 bytes), refused past `maxHeaderBytes`. */
function headerLength(file: Uint8Array, opts: ParseOptions, fail: Fail): number {
  const maxHeader = opts.maxHeaderBytes ?? 100 * 1024 * 1024;
  const n64 = new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(maxHeader)) fail(`header length ${n64} exceeds the cap of ${maxHeader} bytes (maxHeaderBytes)`);
  return Number(n64);
}

interface HeaderEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** data_offsets, relative to the data section. */
  begin: number;
  end: number;
  numel: number;
}

/**
 * The header's JSON, every field checked. `dataLength`, when the data section is there, bounds every tensor's
 * offsets; without it (only the file's head is at hand) that one check is left to the full parse.
 */
function parseHeader(json: Uint8Array, fail: Fail, dataLength?: number): { metadata: Record<string, string>; entries: HeaderEntry[] } {
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) fail('header is not a JSON object');

  let metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!isPlainObject(entry) || !Object.values(entry).every((v) => typeof v === 'string')) {
        fail('__metadata__ is not a map of string to string');
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const bad = (msg: string): never => fail(`tensor '${name}': ${msg}`);
    if (!isPlainObject(entry)) bad('entry is not an object');
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (dtype === undefined) bad('missing dtype');
    if (shape === undefined) bad('missing shape');
    if (offsets === undefined) bad('missing data_offsets');
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) bad(`unknown dtype '${String(dtype)}'`);
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      bad(`shape ${JSON.stringify(shape)} is not an array of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
      bad(`data_offsets ${JSON.stringify(offsets)} are not two non-negative integers [begin, end] with begin <= end`);
    }
    const [begin, end] = offsets as [number, number];
    if (dataLength !== undefined && end > dataLength) bad(`offsets [${begin},${end}] run past the data section of ${dataLength} bytes`);
    const size = DTYPE_BYTES[dtype as Dtype];
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    if (numel * size !== end - begin) {
      bad(`shape [${shape}] of ${dtype} needs ${numel * size} bytes but data_offsets span ${end - begin} bytes`);
    }
    entries.push({ name, dtype: dtype as Dtype, shape: shape as number[], begin, end, numel });
  }
  return { metadata, entries };
}

export interface TensorToWrite {
  dtype: 'F32' | 'F16';
  shape: number[];
  data: Float32Array | Uint16Array;
}

/** Writes a file the reference reader accepts: header padded with spaces to 8 bytes, tensors contiguous. */
export function serializeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  // F32 before F16 (stable otherwise) keeps every tensor aligned to its element size, as the reference writer does.
  const entries = Object.entries(tensors).sort(([, a], [, b]) => DTYPE_BYTES[b.dtype] - DTYPE_BYTES[a.dtype]);
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of entries) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const ctor = t.dtype === 'F32' ? Float32Array : Uint16Array;
    if (!(t.data instanceof ctor) || t.data.length !== numel) {
      throw new EffnetError('SAFETENSORS', `serialize: tensor '${name}': ${t.dtype} [${t.shape}] needs a ${ctor.name} of ${numel} elements`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Exact: every half value (subnormals, ±0, ±inf) is representable as a number; NaNs become NaN. */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f, frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** x is first rounded to f32 (the contract of the name), then to half with round-to-nearest-even. */
export function f32ToF16Bits(x: number): number {
  scratch[0] = x;
  return f32BitsToF16Bits(scratchBits[0]!);
}

function f32BitsToF16Bits(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff, mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf, or a quiet NaN
  const e = exp - 112; // rebias 127 → 15
  if (e >= 31) return sign | 0x7c00;
  if (e > 0) {
    // Normal: drop 13 mantissa bits; a carry out of the mantissa correctly bumps the exponent (up to inf).
    const h = sign | (e << 10) | (mant >>> 13), rest = mant & 0x1fff;
    return rest > 0x1000 || (rest === 0x1000 && h & 1) ? h + 1 : h;
  }
  // Half subnormal (units of 2^-24): the value is (mant | implicit 1) >> shift. Below half the smallest
  // subnormal (shift >= 25) it rounds to zero; rounding up to 1024 yields the smallest normal, as it should.
  const shift = 14 - e;
  if (shift >= 25) return sign;
  const m = mant | 0x800000, h = m >>> shift, rest = m & ((1 << shift) - 1), half = 1 << (shift - 1);
  return sign | (rest > half || (rest === half && h & 1) ? h + 1 : h);
}

let table: Float32Array | undefined;
/** All 65536 halves as f32, built once: a lookup beats bit arithmetic for multi-million-element tensors. */
function halfTable(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) table[i] = f16BitsToF32(i);
  }
  return table;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}
