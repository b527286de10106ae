/**
 * Every weights source `loadModel` takes gives the same network (issue 14): a path, a `file:` URL, an http URL
 * (streamed), ArrayBuffer, Blob, Response and ReadableStream, with progress reported and an AbortSignal obeyed on
 * load and run; and `exportWeights` / `effnet export-weights` round-trips any source into one file that loads
 * back to the same logits, naming its own architecture.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exportWeights, isSupported, loadModel } from '../src/api.js';
import { isEffnetError } from '../src/errors.js';
import { acquireGpu } from '../src/gpu.js';
import { getArch } from '../src/model/tables.js';
import type { Model } from '../src/runtime/model.js';
import { f16BitsToF32, f32ToF16Bits, parseSafetensors, serializeSafetensors } from '../src/safetensors.js';
import { compare } from '../src/reference/compare.js';
import { TOL } from '../src/reference/tolerances.js';
import { IMAGENET_CLASSES, pretrained } from '../src/pretrained.js';
import type { LoadProgress } from '../src/weights/types.js';
import { randomParams } from '../src/weights/random.js';
import { expectedStateDict, TORCHVISION_NAMING } from '../src/weights/torchvision.js';
import { effnet } from './support/cli.js';

const RES = 48;
const image = new Float32Array(3 * RES * RES).map((_, i) => Math.sin(i * 0.013));
const input = { data: image, shape: [1, 3, RES, RES] };
const dir = mkdtempSync(join(tmpdir(), 'effnet-sources-'));

/** A torchvision-named B0 state dict of seeded values: a real file of the format the zoo ships. */
function b0StateDict(): Uint8Array {
  const spec = getArch('efficientnet_b0');
  let s = 7;
  const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2;
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const t of expectedStateDict(spec, TORCHVISION_NAMING)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    // Running variances must be positive; everything else small and seeded.
    const data = new Float32Array(n).map(() => (t.name.endsWith('running_var') ? 1 + Math.abs(rnd()) : rnd()));
    tensors[t.name] = { dtype: 'F32', shape: [...t.shape], data };
  }
  return serializeSafetensors(tensors);
}

const bytes = b0StateDict() as Uint8Array<ArrayBuffer>;
const file = join(dir, 'b0.safetensors');
writeFileSync(file, bytes);
let server: ReturnType<typeof createServer>;
let base = '';
let reference: Float32Array;

async function logitsOf(model: Model): Promise<Float32Array> {
  try {
    return await model.run(input);
  } finally {
    model.dispose();
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const body = readFileSync(file);
    // /gzip/…: what a compressing server (vite preview) sends: chunked, no length of the file.
    if (req.url!.startsWith('/gzip/')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' });
      return res.end(gzipSync(body, { level: 1 }));
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    // In pieces, so the reader sees a stream of chunks.
    let off = 0;
    const next = () => {
      if (off >= body.length) return res.end();
      res.write(body.subarray(off, (off += 1 << 20)), next);
    };
    next();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  reference = await logitsOf(await loadModel({ backend: 'webgpu', weights: file }));
});
afterAll(() => server?.close());

describe('weights sources', () => {
  const sources: { name: string; weights: () => unknown }[] = [
    { name: 'a file: URL', weights: () => pathToFileURL(file) },
    { name: 'a file: URL string', weights: () => pathToFileURL(file).href },
    { name: 'an http URL (streamed)', weights: () => `${base}/b0.safetensors` },
    { name: 'an ArrayBuffer', weights: () => bytes.slice().buffer },
    { name: 'a Blob', weights: () => new Blob([bytes]) },
    { name: 'a Response', weights: () => new Response(bytes) },
    { name: 'a ReadableStream', weights: () => new Blob([bytes]).stream() },
  ];
  test.each(sources)('$name gives the same logits as the path', async ({ weights }) => {
    const seen: LoadProgress[] = [];
    const model = await loadModel({ backend: 'webgpu', weights: weights() as never, onProgress: (p) => seen.push(p) });
    expect(model.spec.name).toBe('efficientnet_b0');
    expect(await logitsOf(model)).toEqual(reference);
    if (seen.length) {
      // Progress only grows and ends at every byte.
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.loaded).toBeGreaterThanOrEqual(seen[i - 1]!.loaded);
      expect(seen.at(-1)!.loaded).toBe(bytes.byteLength);
    }
  });

  test('a compressing server sends no length: the total comes from the safetensors header, and progress reaches it', async () => {
    const seen: LoadProgress[] = [];
    const model = await loadModel({ backend: 'webgpu', weights: `${base}/gzip/b0.safetensors`, onProgress: (p) => seen.push(p) });
    expect(await logitsOf(model)).toEqual(reference);
    expect(seen.at(-1)).toEqual({ loaded: bytes.byteLength, total: bytes.byteLength });
    // Every report once the header has been read carries the true total, never less than what was loaded.
    const told = seen.filter((p) => p.total !== undefined);
    expect(told.length).toBeGreaterThan(seen.length / 2);
    for (const p of told) expect(p.total).toBe(bytes.byteLength);
  });

  test('a path reports progress with the total, chunk by chunk', async () => {
    const seen: LoadProgress[] = [];
    (await loadModel({ backend: 'webgpu', weights: file, onProgress: (p) => seen.push(p) })).dispose();
    expect(seen.length).toBeGreaterThanOrEqual(Math.ceil(bytes.byteLength / (4 << 20)));
    expect(seen.at(-1)).toEqual({ loaded: bytes.byteLength, total: bytes.byteLength });
  });

  test('an AbortSignal stops a load (already aborted, or mid-stream) with ABORTED', async () => {
    const early = await loadModel({ backend: 'webgpu', weights: file, signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(isEffnetError(early, 'ABORTED')).toBe(true);
    const ctl = new AbortController();
    const mid = await loadModel({ backend: 'webgpu', weights: `${base}/b0.safetensors`, signal: ctl.signal, onProgress: () => ctl.abort() }).catch((e: unknown) => e);
    expect(isEffnetError(mid, 'ABORTED')).toBe(true);
    expect((mid as Error).message).toMatch(/was aborted/);
    // After the last byte: the load still rejects, naming the phase it was in, and the model is never handed out.
    const done = new AbortController();
    const late = await loadModel({ backend: 'webgpu', weights: file, signal: done.signal, onProgress: (p) => p.loaded === p.total && done.abort() }).catch((e: unknown) => e);
    expect(isEffnetError(late, 'ABORTED')).toBe(true);
    expect((late as Error).message).toBe('loadModel (after reading the weights) was aborted');
    // While the weights upload: the device aborts at its first buffer, the model built is disposed (its
    // buffers destroyed), and the load rejects naming the phase.
    const gpu = await acquireGpu();
    try {
      const compiling = new AbortController();
      const made: string[] = [];
      const destroyed = new Set<string>();
      const device = new Proxy(gpu.device, {
        get(target, key) {
          const v = Reflect.get(target, key, target) as unknown;
          if (key === 'createBuffer') {
            return (d: GPUBufferDescriptor) => {
              compiling.abort();
              const b = target.createBuffer(d);
              const name = `${made.length}:${d.label ?? ''}`;
              made.push(name);
              const destroy = b.destroy.bind(b);
              b.destroy = () => (destroyed.add(name), destroy());
              return b;
            };
          }
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const building = await loadModel({ weights: file, signal: compiling.signal, device }).catch((e: unknown) => e);
      expect(isEffnetError(building, 'ABORTED')).toBe(true);
      expect((building as Error).message).toBe('loadModel (while uploading the weights and compiling) was aborted');
      expect(made.length).toBeGreaterThan(0);
      expect(made.filter((b) => !destroyed.has(b))).toEqual([]);
    } finally {
      gpu.destroy();
    }
  });

  test('isSupported() here: WebGPU through Dawn on SwiftShader, a software adapter', async () => {
    const support = await isSupported();
    expect(support).toMatchObject({ supported: true, isFallback: true });
    expect(support.adapter).toMatch(/swiftshader/i);
  });

  test('an AbortSignal on run rejects that run only; the model runs on', async () => {
    const model = await loadModel({ backend: 'webgpu', weights: file });
    try {
      const aborted = await model.run(input, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
      expect(isEffnetError(aborted, 'ABORTED')).toBe(true);
      const ctl = new AbortController();
      const queued = [model.run(input), model.run(input, { signal: ctl.signal })];
      ctl.abort();
      const [first, second] = await Promise.allSettled(queued);
      expect(first.status === 'fulfilled' && first.value).toEqual(reference);
      expect(second.status === 'rejected' && isEffnetError(second.reason, 'ABORTED')).toBe(true);
      expect(await model.run(input)).toEqual(reference);
    } finally {
      model.dispose();
    }
  });

  test('anything else is a WEIGHTS error naming what was given', async () => {
    const e = await loadModel({ backend: 'webgpu', weights: 42 as never }).catch((x: unknown) => x);
    expect(isEffnetError(e, 'WEIGHTS')).toBe(true);
    expect((e as Error).message).toMatch(/got number/);
    const used = new Response(bytes);
    await used.arrayBuffer();
    const again = await loadModel({ backend: 'webgpu', weights: used }).catch((x: unknown) => x);
    expect(isEffnetError(again, 'IO')).toBe(true);
    expect((again as Error).message).toMatch(/already read/);
  });
});

describe('the engine weights file', () => {
  test('exportWeights round-trips a state dict: same logits, and the file names its architecture', async () => {
    const { spec, bytes: written } = await exportWeights({ weights: file });
    const exported = written as Uint8Array<ArrayBuffer>;
    expect(spec.name).toBe('efficientnet_b0');
    const model = await loadModel({ backend: 'webgpu', weights: new Blob([exported]) });
    expect(model.preprocess).toBe('torchvision');
    expect(await logitsOf(model)).toEqual(reference);
    // A file for one network refuses to load as another.
    const e = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b1', weights: exported }).catch((x: unknown) => x);
    expect(isEffnetError(e, 'WEIGHTS')).toBe(true);
    expect((e as Error).message).toMatch(/these weights are for efficientnet_b0, not efficientnet_b1/);
  });

  test('a custom table and its input affine survive export (random weights of a 2-stage net)', async () => {
    const spec = { ...getArch('efficientnet_b0'), name: 'tiny', stages: getArch('efficientnet_b0').stages.slice(0, 2), headC: 64 };
    const params = { ...randomParams(spec, 3), inputAffine: { scale: [2, 3, 4], shift: [-1, -0.5, 0.25] } };
    const direct = await logitsOf(await loadModel({ backend: 'webgpu', arch: spec, weights: params }));
    const exported = (await exportWeights({ arch: spec, weights: params })).bytes as Uint8Array<ArrayBuffer>;
    const model = await loadModel({ backend: 'webgpu', weights: exported });
    expect(model.spec).toEqual(spec);
    expect(model.preprocess).toBe('tfjs');
    expect(await logitsOf(model)).toEqual(direct);
  });

  test('F16 export: half the bytes, the weights load exactly as stored, the logits within TOL.f16Weights', async () => {
    const f32 = (await exportWeights({ weights: file })).bytes;
    const f16 = (await exportWeights({ weights: file, dtype: 'F16' })).bytes as Uint8Array<ArrayBuffer>;
    expect(f16.byteLength / f32.byteLength).toBeGreaterThan(0.5);
    expect(f16.byteLength / f32.byteLength).toBeLessThan(0.51);
    // Stored once as halves (round to nearest even), read back bit for bit.
    const [a, b] = [parseSafetensors(f32), parseSafetensors(f16)];
    const key = [...b.tensors.keys()].find((k) => k.endsWith('.weight'))!;
    expect(b.tensors.get(key)!.dtype).toBe('F16');
    expect(Array.from(b.tensors.get(key)!.f32())).toEqual(Array.from(a.tensors.get(key)!.f32(), (x) => f16BitsToF32(f32ToF16Bits(x))));
    const model = await loadModel({ backend: 'webgpu', weights: f16 });
    const got = await logitsOf(model);
    const c = compare(got, reference, TOL.f16Weights, 'F16 weights');
    console.log(`F16 export: ${(f16.byteLength / 2 ** 20).toFixed(1)} of ${(f32.byteLength / 2 ** 20).toFixed(1)} MiB; logits max |Δ| ${c.maxAbs.toExponential(2)}`);
    expect(c.ok, c.message).toBe(true);
    expect(got.indexOf(Math.max(...got))).toBe(reference.indexOf(Math.max(...reference)));
    // A weight the half range cannot hold is refused, never stored as infinity.
    const spec = { ...getArch('efficientnet_b0'), name: 'tiny', stages: getArch('efficientnet_b0').stages.slice(0, 1), headC: 32 };
    const params = randomParams(spec, 5);
    params.stem.weight[7] = 1e5;
    const e = await exportWeights({ arch: spec, weights: params, dtype: 'F16' }).catch((x: unknown) => x);
    expect(isEffnetError(e, 'WEIGHTS')).toBe(true);
    expect((e as Error).message).toMatch(/cannot store \S+ as F16: element 7 is 100000, beyond the half range/);
  });

  test('effnet export-weights writes the file the CLI then classifies with (into folders it creates; --dtype f16)', async () => {
    const out = join(dir, 'exported.safetensors');
    const r = await effnet('export-weights', '--weights', file, '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { arch: string; bytes: number; dtype: string };
    expect(summary).toMatchObject({ arch: 'efficientnet_b0', dtype: 'F32' });
    expect(readFileSync(out).byteLength).toBe(summary.bytes);
    expect(await logitsOf(await loadModel({ backend: 'webgpu', weights: out }))).toEqual(reference);
    const half = join(dir, 'new', 'folder', 'b0-f16.safetensors');
    const h = await effnet('export-weights', '--weights', file, '--out', half, '--dtype', 'f16', '--json');
    expect(h.code, h.stderr).toBe(0);
    expect(JSON.parse(h.stdout)).toMatchObject({ dtype: 'F16' });
    expect(readFileSync(half).byteLength).toBeLessThan(0.51 * summary.bytes);
    const bad = await effnet('export-weights', '--weights', file, '--out', half, '--dtype', 'bf8');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--dtype must be f32 or f16, got 'bf8'/);
  });

  test('pretrained() and IMAGENET_CLASSES', async () => {
    expect(IMAGENET_CLASSES.length).toBe(1000);
    expect(IMAGENET_CLASSES[388]).toMatch(/giant panda/);
    const served = await pretrained('efficientnet_b0', { url: 'https://example.com/b0.safetensors' });
    expect(served).toMatchObject({ arch: 'efficientnet_b0', weights: 'https://example.com/b0.safetensors' });
    expect(served.preset.name).toBe('tfjs');
    const e = await pretrained('efficientnet_v2_xl').catch((x: unknown) => x);
    expect(isEffnetError(e, 'WEIGHTS')).toBe(true);
    expect((e as Error).message).toMatch(/no pretrained weights are fetched for efficientnet_v2_xl/);
  });
});
