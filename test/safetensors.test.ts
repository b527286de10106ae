import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isEffnetError } from '../src/errors.js';
import {
  f16BitsToF32,
  f32ToF16Bits,
  parseSafetensors,
  serializeSafetensors,
  type SafetensorsFile,
} from '../src/safetensors.js';

const FIXTURES = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));

function load(name: string): Uint8Array {
  const b = readFileSync(FIXTURES + name);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Neumaier-compensated float64 sum, to match Python's math.fsum used for the expected values. */
function fsum(values: ArrayLike<number>, map: (x: number) => number = (x) => x): number {
  let s = 0, c = 0;
  for (let i = 0; i < values.length; i++) {
    const x = map(values[i]!), t = s + x;
    c += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
    s = t;
  }
  return s + c;
}

function expectClose(got: number, want: number, rel = 1e-12): void {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(want)));
}

const isBufferStat = (name: string) => name.endsWith('.running_mean') || name.endsWith('.running_var');

function paramCount(f: SafetensorsFile): number {
  let n = 0;
  for (const t of f.tensors.values()) if (!isBufferStat(t.name)) n += t.numel;
  return n;
}

const scratch = new DataView(new ArrayBuffer(4));

/** Independent half → f32 conversion: rebuild the f32 bit pattern and reinterpret it through a DataView. */
function halfViaBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  let exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  let bits: number;
  if (exp === 0x1f) bits = sign | 0x7f800000 | (mant << 13);
  else if (exp === 0 && mant === 0) bits = sign;
  else {
    if (exp === 0) {
      exp = 1; // normalise a subnormal: shift until the implicit bit appears
      while (!(mant & 0x400)) { mant <<= 1; exp--; }
      mant &= 0x3ff;
    }
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  scratch.setUint32(0, bits >>> 0);
  return scratch.getFloat32(0);
}
const HALF_REFERENCE = Float64Array.from({ length: 65536 }, (_, h) => halfViaBits(h));

/** Builds a file byte by byte, so headers the serializer would never write can be tested. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0), lengthField?: bigint): Uint8Array {
  const head = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthField ?? BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

function expectFailure(fn: () => unknown, ...words: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(isEffnetError(err, 'SAFETENSORS'), `expected EffnetError SAFETENSORS, got ${String(err)}`).toBe(true);
  for (const w of words) expect((err as Error).message).toContain(w);
}

describe('fixtures', () => {
  it('efficientnet_b0 weights (F32)', () => {
    const f = parseSafetensors(load('efficientnet_b0.weights.safetensors'));
    expect(f.tensors.size).toBe(311);
    expect(f.metadata.num_params).toBe('5288548');
    expect(f.metadata.arch).toBe('efficientnet_b0');
    expect(paramCount(f)).toBe(5288548);
    expect(f.names()[0]).toBe('features.0.0.weight');
    expect(f.names().at(-1)).toBe('classifier.1.bias');
    expect(f.get('features.0.0.weight').shape).toEqual([32, 3, 3, 3]);
    expect(f.get('features.1.0.block.1.fc1.weight').shape).toEqual([8, 32, 1, 1]);
    expect(f.get('features.8.0.weight').shape).toEqual([1280, 320, 1, 1]);
    expect(f.get('classifier.1.weight').shape).toEqual([1000, 1280]);
    expect(f.get('classifier.1.weight').dtype).toBe('F32');

    // Expected sums: Python math.fsum over numpy.frombuffer(..., float32).astype(float64).
    expectClose(fsum(f.get('features.0.0.weight').f32()), 2.8214312513300683);
    expectClose(fsum(f.get('features.0.1.bias').f32()), -0.8233177294023335);
    expectClose(fsum(f.get('classifier.1.weight').f32()), -3.7100990532468696);
    expectClose(fsum(f.get('classifier.1.weight').f32(), Math.abs), 20240.70300553514);
    const all = [...f.tensors.values()].map((t) => t.f32());
    expectClose(all.reduce((s, a) => s + fsum(a), 0), 47013.323784486354, 1e-11);
    expectClose(all.reduce((s, a) => s + fsum(a, Math.abs), 0), 329435.7952098426, 1e-11);
  });

  it('efficientnet_v2_s weights (F16)', () => {
    const bytes = load('efficientnet_v2_s.weights.safetensors');
    const f = parseSafetensors(bytes);
    expect(f.tensors.size).toBe(672);
    expect(f.metadata.num_params).toBe('21458488');
    expect(paramCount(f)).toBe(21458488);
    expect(f.get('features.0.0.weight').shape).toEqual([24, 3, 3, 3]);
    expect(f.get('features.2.0.block.0.0.weight').shape).toEqual([96, 24, 3, 3]);
    expect(f.get('features.7.0.weight').shape).toEqual([1280, 256, 1, 1]);
    expect(f.get('classifier.1.weight').shape).toEqual([1000, 1280]);
    expect(f.get('classifier.1.weight').dtype).toBe('F16');

    // Expected sums: Python math.fsum over numpy.frombuffer(..., float16).astype(float64).
    expectClose(fsum(f.get('features.0.0.weight').f32()), 3.4052804708480835);
    expectClose(fsum(f.get('features.7.0.weight').f32()), -18.073978006839752);
    expectClose(fsum(f.get('classifier.1.weight').f32()), 2.5076339840888977);
    expectClose(fsum(f.get('classifier.1.weight').f32(), Math.abs), 20244.777463138103);

    let sum = 0, abs = 0, mismatches = 0;
    for (const t of f.tensors.values()) {
      const vals = t.f32();
      const raw = t.raw(), dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < vals.length; i++) if (!Object.is(vals[i], HALF_REFERENCE[dv.getUint16(2 * i, true)])) mismatches++;
      sum += fsum(vals);
      abs += fsum(vals, Math.abs);

      // f16Bits() of an F16 tensor is the file's own bytes, not a copy.
      const bits = t.f16Bits();
      expect(bits.buffer).toBe(bytes.buffer);
      expect(bits.byteOffset).toBe(bytes.byteOffset + t.byteOffset);
      expect(Buffer.compare(new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength), raw)).toBe(0);
    }
    expect(mismatches).toBe(0);
    expectClose(sum, 173510.21902400255, 1e-11);
    expectClose(abs, 1385651.150862515, 1e-11);
  });

  it('efficientnet_b0 io', () => {
    const f = parseSafetensors(load('efficientnet_b0.io.safetensors'));
    expect(f.tensors.size).toBe(11);
    expect(f.get('input').shape).toEqual([2, 3, 224, 224]);
    expect(f.get('logits').shape).toEqual([2, 1000]);
    expect(f.get('features.8').shape).toEqual([2, 1280, 7, 7]);
    expectClose(fsum(f.get('input').f32()), -714.1832126866709);
    expectClose(fsum(f.get('logits').f32()), 0.5560778615763411);
  });
});

describe('validation', () => {
  const a = new Float32Array(16).map((_, i) => i - 4.5);
  const good = () => serializeSafetensors({ a: { dtype: 'F32', shape: [4, 4], data: a } });
  const f32Entry = (begin: number, end: number, shape = [(end - begin) / 4]) => ({
    dtype: 'F32', shape, data_offsets: [begin, end],
  });

  it('names the source, defaulting to <buffer>', () => {
    expectFailure(() => parseSafetensors(new Uint8Array(3)), '<buffer>');
    expectFailure(() => parseSafetensors(new Uint8Array(3), { source: 'w/b0.safetensors' }), 'w/b0.safetensors:');
  });

  it('truncated data section', () => {
    const bytes = good();
    expectFailure(() => parseSafetensors(bytes.subarray(0, bytes.length - 10)),
      "tensor 'a'", 'offsets [0,64] run past the data section of 54 bytes');
  });

  it('file shorter than the length field', () => {
    expectFailure(() => parseSafetensors(good().slice(0, 5)), 'file is 5 bytes', 'shorter than the 8-byte');
  });

  it('header length larger than the file', () => {
    const bytes = good();
    new DataView(bytes.buffer).setBigUint64(0, BigInt(bytes.length), true);
    expectFailure(() => parseSafetensors(bytes), `header length ${bytes.length} exceeds file size`);
  });

  it('header length above the cap', () => {
    expectFailure(() => parseSafetensors(build({}, undefined, 2n ** 40n)),
      'header length 1099511627776 exceeds the cap of 104857600 bytes', 'maxHeaderBytes');
    expectFailure(() => parseSafetensors(good(), { maxHeaderBytes: 16 }), 'exceeds the cap of 16 bytes');
  });

  it('header not UTF-8, not JSON, not an object', () => {
    const badUtf8 = build('{}');
    badUtf8[9] = 0xff;
    expectFailure(() => parseSafetensors(badUtf8), 'not valid UTF-8');
    expectFailure(() => parseSafetensors(build('{"a": {"dtype": "F32",')), 'header is not valid JSON');
    expectFailure(() => parseSafetensors(build('[1, 2]')), 'header is not a JSON object');
    expectFailure(() => parseSafetensors(build('null')), 'header is not a JSON object');
  });

  it('overlapping tensors', () => {
    const data = new Uint8Array(32);
    expectFailure(() => parseSafetensors(build({ a: f32Entry(0, 16), b: f32Entry(8, 24) }, data)),
      "tensors 'a' and 'b' overlap");
    // Found even when the overlapping pair is not adjacent in the header.
    expectFailure(() => parseSafetensors(build({ big: f32Entry(0, 32), x: f32Entry(0, 0, [0]), c: f32Entry(28, 32) }, data)),
      "'big' and 'c' overlap");
    // Touching ranges and empty tensors are fine.
    const ok = parseSafetensors(build({ a: f32Entry(0, 16), e: f32Entry(16, 16, [0, 3]), b: f32Entry(16, 32) }, data));
    expect(ok.names()).toEqual(['a', 'e', 'b']);
    expect(ok.get('e').f32().length).toBe(0);
  });

  it('offsets past the end', () => {
    expectFailure(() => parseSafetensors(build({ x: f32Entry(8, 24) }, new Uint8Array(16))),
      "tensor 'x': offsets [8,24] run past the data section of 16 bytes");
  });

  it('shape and byte length disagree', () => {
    expectFailure(() => parseSafetensors(build({ x: f32Entry(0, 16, [2, 3]) }, new Uint8Array(16))),
      "tensor 'x'", 'needs 24 bytes but data_offsets span 16 bytes');
  });

  it('unknown dtype, by name', () => {
    expectFailure(() => parseSafetensors(build({ x: { ...f32Entry(0, 4), dtype: 'F33' } }, new Uint8Array(4))),
      "tensor 'x': unknown dtype 'F33'");
  });

  it('bad shapes', () => {
    for (const shape of [[-1, 4], [2.5], ['4'], 4, [2 ** 53]]) {
      expectFailure(() => parseSafetensors(build({ x: { ...f32Entry(0, 16), shape } }, new Uint8Array(16))),
        "tensor 'x': shape", 'not an array of non-negative integers');
    }
  });

  it('bad or missing entry fields', () => {
    const data = new Uint8Array(16);
    expectFailure(() => parseSafetensors(build({ x: { dtype: 'F32', shape: [4] } }, data)), "tensor 'x': missing data_offsets");
    expectFailure(() => parseSafetensors(build({ x: { dtype: 'F32', data_offsets: [0, 16] } }, data)), "tensor 'x': missing shape");
    expectFailure(() => parseSafetensors(build({ x: { shape: [4], data_offsets: [0, 16] } }, data)), "tensor 'x': missing dtype");
    expectFailure(() => parseSafetensors(build({ x: 5 }, data)), "tensor 'x': entry is not an object");
    for (const offs of [[16, 0], [0], [0, 16, 32], [-4, 12], [0, '16']]) {
      expectFailure(() => parseSafetensors(build({ x: { dtype: 'F32', shape: [4], data_offsets: offs } }, data)),
        "tensor 'x': data_offsets", 'begin <= end');
    }
  });

  it('bad __metadata__', () => {
    for (const md of [{ n: 1 }, ['a'], 'meta', null, { ok: 'x', nested: { a: 'b' } }]) {
      expectFailure(() => parseSafetensors(build({ __metadata__: md })), '__metadata__ is not a map of string to string');
    }
  });

  it('get() names a missing tensor', () => {
    const f = parseSafetensors(good(), { source: 'dump.safetensors' });
    expect(f.has('a')).toBe(true);
    expect(f.has('nope')).toBe(false);
    expectFailure(() => f.get('nope'), 'dump.safetensors', "no tensor named 'nope'");
  });
});

describe('half precision', () => {
  it('decodes special values exactly', () => {
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(f16BitsToF32(0x0400)).toBe(2 ** -14);
    expect(Object.is(f16BitsToF32(0x0000), 0)).toBe(true);
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
    expect(f16BitsToF32(0x7c00)).toBe(Infinity);
    expect(f16BitsToF32(0xfc00)).toBe(-Infinity);
    expect(f16BitsToF32(0x7e00)).toBeNaN();
    expect(f16BitsToF32(0xfc01)).toBeNaN();
    expect(f16BitsToF32(0x7bff)).toBe(65504);
    expect(f16BitsToF32(0x3c00)).toBe(1);
    expect(f16BitsToF32(0xc000)).toBe(-2);
    expect(f16BitsToF32(0x3555)).toBe(0.333251953125);
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) if (!Object.is(f16BitsToF32(h), HALF_REFERENCE[h])) wrong.push(h);
    expect(wrong).toEqual([]);
  });

  it('encodes with round-to-nearest-even', () => {
    expect(f32ToF16Bits(2048)).toBe(0x6800);
    expect(f32ToF16Bits(2049)).toBe(0x6800); // tie → even mantissa 0
    expect(f32ToF16Bits(2050)).toBe(0x6801);
    expect(f32ToF16Bits(2051)).toBe(0x6802); // tie → even: 2052
    expect(f16BitsToF32(0x6802)).toBe(2052);
    expect(f32ToF16Bits(2053)).toBe(0x6802); // tie → even: 2052, not 2054
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65519)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // tie between 65504 and the (even) next step, which is inf
    expect(f32ToF16Bits(1e6)).toBe(0x7c00);
    expect(f32ToF16Bits(-1e6)).toBe(0xfc00);
    expect(f32ToF16Bits(Infinity)).toBe(0x7c00);
    expect(f32ToF16Bits(-Infinity)).toBe(0xfc00);
    expect(f32ToF16Bits(0)).toBe(0x0000);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001);
    expect(f32ToF16Bits(-(2 ** -24))).toBe(0x8001);
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // tie → 0
    expect(f32ToF16Bits(Math.fround(2 ** -25 * (1 + 2 ** -20)))).toBe(0x0001);
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 → 2
    expect(f32ToF16Bits(1023.5 * 2 ** -24)).toBe(0x0400); // tie at the subnormal/normal boundary → 1024
    expect(f32ToF16Bits(2 ** -30)).toBe(0x0000);
    expect(f32ToF16Bits(1e-45)).toBe(0x0000); // f32 subnormal
    const nan = f32ToF16Bits(NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x3ff).not.toBe(0);
  });

  it('rounds every tie and near-tie correctly (exhaustive over positive halves)', () => {
    const f = new Float32Array(1), u = new Uint32Array(f.buffer);
    const nudge = (x: number, d: number) => { f[0] = x; u[0]! += d; return f[0]!; };
    const wrong: number[] = [];
    for (let h = 0; h < 0x7bff; h++) {
      const mid = (f16BitsToF32(h) + f16BitsToF32(h + 1)) / 2; // exact in f32: 12 significant bits
      const ok = Math.fround(mid) === mid
        && f32ToF16Bits(mid) === (h & 1 ? h + 1 : h)
        && f32ToF16Bits(nudge(mid, -1)) === h
        && f32ToF16Bits(nudge(mid, 1)) === h + 1
        && f32ToF16Bits(-f16BitsToF32(h)) === (h | 0x8000);
      if (!ok) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('round-trips all 65536 bit patterns; NaNs stay NaN', () => {
    const wrong: number[] = [];
    let nans = 0;
    for (let h = 0; h < 65536; h++) {
      const x = f16BitsToF32(h), back = f32ToF16Bits(x);
      const isNaNPattern = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNaNPattern) nans++;
      const ok = isNaNPattern ? Number.isNaN(x) && Number.isNaN(f16BitsToF32(back)) : back === h;
      if (!ok) wrong.push(h);
    }
    expect(wrong).toEqual([]);
    expect(nans).toBe(2 * 1023);
  });

  it('f16Bits() of an F32 tensor rounds to nearest even', () => {
    const data = new Float32Array([2049, 2051, 65520, -3 * 2 ** -25, 0.1, -0]);
    const t = parseSafetensors(serializeSafetensors({ x: { dtype: 'F32', shape: [6], data } })).get('x');
    expect([...t.f16Bits()]).toEqual([0x6800, 0x6802, 0x7c00, 0x8002, 0x2e66, 0x8000]);
  });
});

describe('other dtypes', () => {
  it('BF16 is the top 16 bits of an f32, exactly', () => {
    const bits = new Uint16Array([0x3f80, 0xbf80, 0x7f80, 0xff80, 0x7fc1, 0x0001, 0x8000, 0x4049, 0x7f7f, 0x0080]);
    const f = parseSafetensors(build({ x: { dtype: 'BF16', shape: [bits.length], data_offsets: [0, bits.byteLength] } },
      new Uint8Array(bits.buffer)));
    const t = f.get('x');
    const got = t.f32();
    expect([...new Uint32Array(got.buffer, got.byteOffset, got.length)]).toEqual([...bits].map((b) => (b << 16) >>> 0));
    expect(got[0]).toBe(1);
    expect(got[2]).toBe(Infinity);
    expect(got[4]).toBeNaN();
    expect(got[5]).toBe(2 ** -133);
    expect(Object.is(got[6], -0)).toBe(true);
    expect(got[7]).toBe(3.140625);
    expect(got[8]).toBe(3.3895313892515355e38);
    expect([...t.f16Bits()]).toEqual([...got].map((x) => f32ToF16Bits(x)));
  });

  it('converts F64 and integers to f32; refuses I64; sizes are right', () => {
    const f64 = new Float64Array([1.5, -1e-300, 1 / 3]);
    const i32 = new Int32Array([-7, 16777217, 2 ** 31 - 1]);
    const i16 = new Int16Array([-32768, 5]);
    const i8 = new Int8Array([-128, 127, 0]);
    const u8 = new Uint8Array([0, 255]);
    const bool = new Uint8Array([1, 0, 1]);
    const i64 = new BigInt64Array([1n, -1n]);
    const parts: [string, string, ArrayBufferView & { length: number }][] = [
      ['f64', 'F64', f64], ['i32', 'I32', i32], ['i64', 'I64', i64], ['i16', 'I16', i16],
      ['i8', 'I8', i8], ['u8', 'U8', u8], ['bool', 'BOOL', bool],
    ];
    const header: Record<string, unknown> = {};
    const chunks: Uint8Array[] = [];
    let off = 0;
    for (const [name, dtype, arr] of parts) {
      header[name] = { dtype, shape: [arr.length], data_offsets: [off, off + arr.byteLength] };
      chunks.push(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
      off += arr.byteLength;
    }
    const data = new Uint8Array(off);
    chunks.reduce((at, c) => (data.set(c, at), at + c.length), 0);
    const f = parseSafetensors(build(header, data), { source: 'mixed' });
    expect([...f.get('f64').f32()]).toEqual([1.5, -0, Math.fround(1 / 3)]);
    expect([...f.get('i32').f32()]).toEqual([-7, 16777216, 2 ** 31]);
    expect([...f.get('i16').f32()]).toEqual([-32768, 5]);
    expect([...f.get('i8').f32()]).toEqual([-128, 127, 0]);
    expect([...f.get('u8').f32()]).toEqual([0, 255]);
    expect([...f.get('bool').f32()]).toEqual([1, 0, 1]);
    expect(f.get('i64').byteLength).toBe(16);
    expectFailure(() => f.get('i64').f32(), "mixed: tensor 'i64': cannot convert I64 to f32");
    expectFailure(() => f.get('i32').f16Bits(), "tensor 'i32': cannot convert I32 to f16");
  });
});

describe('alignment and zero-copy', () => {
  it('an aligned F32 tensor is a view of the file buffer', () => {
    const bytes = load('efficientnet_b0.weights.safetensors');
    const f = parseSafetensors(bytes.buffer as ArrayBuffer);
    const t = f.get('classifier.1.weight');
    expect(t.byteOffset % 4).toBe(0);
    const v = t.f32();
    expect(v.buffer).toBe(bytes.buffer);
    expect(v.byteOffset).toBe(t.byteOffset);
    expect(v.length).toBe(1000 * 1280);
    expect(t.raw().buffer).toBe(bytes.buffer);
  });

  it('a misaligned tensor is copied, with the right values', () => {
    const vals = new Float32Array([1.5, -2.25, 3e-5, 65504, -0, 7]);
    const halves = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7bff]);
    const data = new Uint8Array(vals.byteLength + halves.byteLength);
    data.set(new Uint8Array(vals.buffer), 0);
    data.set(new Uint8Array(halves.buffer), vals.byteLength);
    const header = {
      x: { dtype: 'F32', shape: [2, 3], data_offsets: [0, vals.byteLength] },
      h: { dtype: 'F16', shape: [4], data_offsets: [vals.byteLength, data.length] },
    };
    // Pad the JSON with spaces so the data section starts at an odd offset: misaligned for both F32 and F16.
    let json = JSON.stringify(header);
    while ((8 + json.length) % 4 !== 1) json += ' ';
    const bytes = build(json, data);
    const f = parseSafetensors(bytes);
    const x = f.get('x');
    expect(x.byteOffset % 4).toBe(1);
    const got = x.f32();
    expect(got.buffer).not.toBe(bytes.buffer);
    expect(got).toEqual(vals);
    expect(Object.is(got[4], -0)).toBe(true);
    expect([...f.get('h').f16Bits()]).toEqual([...halves]);
    expect([...f.get('h').f32()]).toEqual([1, -2, 2 ** -24, 65504]);

    // Aligned within the file but not within the underlying ArrayBuffer: alignment is judged on the buffer.
    const host = new Uint8Array(bytes.length + 3);
    const good = serializeSafetensors({ x: { dtype: 'F32', shape: [6], data: vals } });
    host.set(good, 3);
    const shifted = parseSafetensors(host.subarray(3, 3 + good.length)).get('x');
    expect(shifted.byteOffset % 4).toBe(0);
    expect(shifted.f32()).toEqual(vals);
  });
});

describe('serializeSafetensors', () => {
  it('round-trips tensors and metadata, with a padded header and aligned data', () => {
    const w = new Float32Array([0.5, -1, 2, 3.25]);
    const h = new Uint16Array([0x3c00, 0x4000, 0x4200]);
    const bytes = serializeSafetensors(
      { h: { dtype: 'F16', shape: [3], data: h }, w: { dtype: 'F32', shape: [2, 2], data: w } },
      { producer: 'test', n: '7' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + n))).toMatch(/^\{.*\} *$/);
    const f = parseSafetensors(bytes);
    expect(f.metadata).toEqual({ producer: 'test', n: '7' });
    expect(f.names()).toEqual(['w', 'h']); // F32 first, so the F16 tensor cannot misalign it
    expect(f.get('w').shape).toEqual([2, 2]);
    expect(f.get('w').f32()).toEqual(w);
    expect(f.get('w').f32().buffer).toBe(bytes.buffer);
    expect(f.get('h').f16Bits()).toEqual(h);
    expect([...f.get('h').f32()]).toEqual([1, 2, 3]);
    expect(bytes.length).toBe(8 + n + 16 + 6);
  });

  it('rejects data that does not match dtype and shape', () => {
    expectFailure(() => serializeSafetensors({ x: { dtype: 'F32', shape: [3], data: new Float32Array(4) } }),
      "tensor 'x'", 'Float32Array of 3 elements');
    expectFailure(() => serializeSafetensors({ x: { dtype: 'F16', shape: [2], data: new Float32Array(2) } }),
      "tensor 'x'", 'Uint16Array of 2 elements');
  });
});
