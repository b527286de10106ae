/**
 * The CPU backend (src/cpu/): `loadModel({ backend })` choosing it, its logits against torchvision's and against our
 * WebGPU kernels, classify through it, and every bad call a typed error. This machine has only SwiftShader, so
 * 'auto' takes the CPU runtime (onnxruntime-node, a dev dependency here) — the issue's own setting.
 */
import { describe, expect, test, vi } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadModel } from '../src/api.js';
import { classifyImages } from '../src/classify.js';
import { CpuModel } from '../src/cpu/model.js';
import { isEffnetError } from '../src/errors.js';
import { PREPROCESS_TFJS } from '../src/kernels/preprocess.js';
import { planLayers } from '../src/model/layers.js';
import { parseSafetensors } from '../src/safetensors.js';
import { errorStats } from '../src/verify.js';
import { CPU_BACKEND_TOLERANCE } from '../src/tolerance.js';
import { ensurePretrainedB0 } from '../src/weights/fetch.js';
import { expectTfjsTop1 } from './support/tfjs-photos.js';

// planLayers as is, counted: how a test sees whether a run plans the network again.
vi.mock('../src/model/layers.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/model/layers.js')>();
  return { ...actual, planLayers: vi.fn(actual.planLayers) };
});

const shared = fileURLToPath(new URL('../../shared/', import.meta.url));
const fixture = (name: string) => parseSafetensors(new Uint8Array(readFileSync(shared + 'fixtures/' + name)));

async function code(p: Promise<unknown>): Promise<string | undefined> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  return isEffnetError(e) ? e.code : e === undefined ? undefined : `not an EffnetError: ${String(e)}`;
}

describe("'auto' on a software adapter runs the CPU runtime, and its logits are torchvision's", () => {
  test.each([
    { arch: 'efficientnet_b0', res: 224 },
    { arch: 'efficientnet_v2_s', res: 384 },
  ])('$arch @$res: logits within CPU_BACKEND_TOLERANCE of the torchvision fixture', async ({ arch, res }) => {
    const io = fixture(`${arch}.io.safetensors`);
    const model = await loadModel({ arch: arch as 'efficientnet_b0', weights: `${shared}fixtures/${arch}.weights.safetensors` });
    try {
      expect(model).toBeInstanceOf(CpuModel);
      expect(model.backend).toMatchObject({ name: 'cpu', runtime: 'onnxruntime-node' });
      expect(model.backend.reason).toMatch(/software one .*swiftshader/i);
      const input = io.get('input');
      const logits = await model.run({ data: input.f32(), shape: input.shape });
      const { relL2 } = errorStats(logits, io.get('logits').f32());
      console.log(`${arch}@${res} CPU backend vs torchvision: relL2 ${relL2.toExponential(2)}`);
      expect(relL2).toBeLessThanOrEqual(CPU_BACKEND_TOLERANCE.relL2);
      const m = (model as CpuModel).memory();
      expect(m.sessions).toBe(1);
      expect(m.weightBytes).toBeGreaterThan(0);
    } finally {
      model.dispose();
    }
  });

  test('the same logits as our WebGPU kernels, NHWC and NCHW alike; probabilities are their softmax', async () => {
    const io = fixture('efficientnet_b0.io.safetensors');
    const weights = `${shared}fixtures/efficientnet_b0.weights.safetensors`;
    const input = io.get('input');
    const [cpu, gpu] = [await loadModel({ weights, backend: 'cpu' }), await loadModel({ weights, backend: 'webgpu' })];
    try {
      expect(gpu.backend).toMatchObject({ name: 'webgpu', runtime: 'effnet-webgpu', reason: "backend 'webgpu' was asked for" });
      const a = await cpu.run({ data: input.f32(), shape: input.shape });
      const b = await gpu.run({ data: input.f32(), shape: input.shape });
      expect(errorStats(a, b).relL2).toBeLessThanOrEqual(CPU_BACKEND_TOLERANCE.relL2);
      // NHWC input: the same image transposed gives the same logits.
      const [n, c, h, w] = input.shape as [number, number, number, number];
      const nchw = input.f32();
      const nhwc = new Float32Array(nchw.length);
      for (let i = 0; i < n; i++) for (let y = 0; y < h * w; y++) for (let k = 0; k < c; k++) nhwc[(i * h * w + y) * c + k] = nchw[(i * c + k) * h * w + y]!;
      expect(await cpu.run({ data: nhwc, shape: [n, h, w, c], layout: 'NHWC' })).toEqual(a);
      const p = await cpu.run({ data: nchw, shape: input.shape }, { probabilities: true });
      const row = p.subarray(0, 1000);
      expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
      expect(row.indexOf(Math.max(...row))).toBe(a.subarray(0, 1000).indexOf(Math.max(...a.subarray(0, 1000))));
    } finally {
      cpu.dispose();
      gpu.dispose();
    }
  });

  test('classify: the 16 real photos through the CPU backend get the WebGPU path’s top-1 (TF.js: 14 of 16 right)', async () => {
    const { modelDir } = await ensurePretrainedB0();
    const model = await loadModel({ arch: 'efficientnet_b0', weights: modelDir, prepare: 'classify' });
    try {
      expect(model.backend.name).toBe('cpu');
      const { paths, top } = await expectTfjsTop1(model);
      // Paths are read and decoded on the CPU path as on the GPU one.
      const [fromPath] = await classifyImages(model, [paths[0]!], { preset: PREPROCESS_TFJS, top: 1 });
      expect(fromPath![0]!.index).toBe(top[0]);
    } finally {
      model.dispose();
    }
  });
});

describe('bad calls on the CPU backend are typed errors', () => {
  test('options, inputs, WebGPU-only outputs, limits, abort and dispose', async () => {
    expect(await code(loadModel({ weights: 'random', arch: 'efficientnet_b0', backend: 'gpu' as never }))).toBe('INPUT');
    expect(await code(loadModel({ weights: 'random', arch: 'efficientnet_b0', backend: 'cpu', tune: 'background' }))).toBe('INPUT');
    expect(await code(loadModel({ weights: 'random', arch: 'efficientnet_b0', backend: 'cpu', cpu: { threads: 0 } }))).toBe('INPUT');
    const model = await loadModel({ arch: 'efficientnet_b0_small', weights: 'random', backend: 'cpu', cpu: { threads: 1 } });
    const x = new Float32Array(3 * 64 * 64).fill(0.5);
    const shape = [1, 3, 64, 64];
    try {
      expect(model.backend.detail).toMatch(/1 intra-op thread$/);
      expect(await code(model.run({ data: x, shape }, { output: 'gpu-buffer' }))).toBe('INPUT');
      expect(await code(model.run({ buffer: {} as GPUBuffer, shape } as never))).toBe('INPUT');
      const nan = x.slice();
      nan[7] = NaN;
      expect(await code(model.run({ data: nan, shape }))).toBe('INPUT');
      expect(await code(model.run({ data: x, shape: [1, 3, 64] }))).toBe('INPUT');
      expect(await code(model.run({ data: new Float32Array(3 * 64 * 72), shape: [1, 3, 64, 72] }))).toBe('INPUT');
      expect(await code(model.run({ data: new Float32Array(3), shape: [4096, 3, 4096, 4096] }))).toBe('INPUT');
      expect(await code(model.prepare({ batch: 512, height: 2048, width: 2048 }))).toBe('LIMIT_EXCEEDED');
      expect(await code(model.run({ data: x, shape }, { signal: AbortSignal.abort() }))).toBe('ABORTED');
      expect(await code(model.run({ data: x, shape }, { output: 'nope' as never }))).toBe('INPUT');
      // Three shapes are kept; a fourth evicts the least recently used, and the model still runs every shape.
      for (const r of [32, 40, 48, 56]) expect((await model.run({ data: new Float32Array(3 * r * r), shape: [1, 3, r, r] })).length).toBe(1000);
      expect(model.memory().sessions).toBe(3);
      expect((await model.run({ data: x, shape })).length).toBe(1000);
      expect(await code(classifyImages(model, [{ width: 2, height: 2, rgba: new Uint8Array(3) }]))).toBe('INPUT');
    } finally {
      model.dispose();
    }
    expect(await code(model.run({ data: x, shape }))).toBe('DISPOSED');
    expect(() => model.memory()).toThrow(/disposed/);
  });
});

describe('WebGPU-only options on the CPU backend', () => {
  const base = { arch: 'efficientnet_b0_small', weights: 'random' } as const;

  test("backend 'cpu' refuses them in one INPUT error naming each that was given", async () => {
    const given = { quickStart: false, target: 'gpu', tuning: 'none', tune: 'off', tuneBudgetS: 5, scheduleCacheBytes: 0, selfTest: 'on', subgroups: false } as const;
    const all = await loadModel({ ...base, backend: 'cpu', ...given }).then(() => undefined, (e: unknown) => e);
    expect(isEffnetError(all, 'INPUT')).toBe(true);
    expect((all as Error).message).toContain('got quickStart, target, tuning, tune, tuneBudgetS, scheduleCacheBytes, selfTest, subgroups: leave them out');
    const one = await loadModel({ ...base, backend: 'cpu', device: {} as GPUDevice }).then(() => undefined, (e: unknown) => e);
    expect(isEffnetError(one, 'INPUT')).toBe(true);
    expect((one as Error).message).toContain('got device: leave it out');
  });

  test("'auto' that ends on the CPU loads, and its reason names the options that did not apply", async () => {
    const model = await loadModel({ ...base, quickStart: false, tuning: 'none' });
    const plain = await loadModel(base);
    try {
      expect(model.backend.name).toBe('cpu');
      expect(model.backend.reason).toMatch(/software one .*; the WebGPU-only quickStart, tuning did not apply$/);
      expect(plain.backend.name).toBe('cpu');
      expect(plain.backend.reason).not.toContain('did not apply');
    } finally {
      model.dispose();
      plain.dispose();
    }
  });
});

describe('the CPU backend reuses what it computed per input shape', () => {
  test('repeated runs of one resolution plan the layers once, not per run', async () => {
    const model = await loadModel({ arch: 'efficientnet_b0_small', weights: 'random', backend: 'cpu' });
    const run = () => model.run({ data: new Float32Array(3 * 64 * 64).fill(0.5), shape: [1, 3, 64, 64] });
    try {
      const first = await run();
      vi.mocked(planLayers).mockClear();
      expect(await run()).toEqual(first);
      expect(await run()).toEqual(first);
      expect(planLayers).not.toHaveBeenCalled();
    } finally {
      model.dispose();
    }
  });

  test('a cached model file that lost its sha256 or no longer matches it is written again, with the same logits', async () => {
    const saved = process.env.EFFNET_CACHE;
    const cache = mkdtempSync(join(tmpdir(), 'effnet-cpu-cache-'));
    process.env.EFFNET_CACHE = cache;
    const x = { data: new Float32Array(3 * 64 * 64).map((_, i) => Math.sin(i)), shape: [1, 3, 64, 64] };
    // A new model each time: a model keeps its compiled session, so only a new one reads the cache.
    const logits = async () => {
      const model = await loadModel({ arch: 'efficientnet_b0_small', weights: 'random', backend: 'cpu' });
      try {
        return await model.run(x);
      } finally {
        model.dispose();
      }
    };
    try {
      const first = await logits();
      const dir = join(cache, 'peer-models');
      const name = readdirSync(dir).find((f) => f.endsWith('.onnx'))!;
      const file = join(dir, name);
      expect(readdirSync(dir).sort()).toEqual([name, `${name}.sha256`]);
      const bytes = readFileSync(file);
      expect(readFileSync(`${file}.sha256`, 'utf8').trim()).toBe(createHash('sha256').update(bytes).digest('hex'));

      // One byte flipped in the middle (the weights): run as is, the logits would change or the file not load.
      const flipped = Buffer.from(bytes);
      flipped[flipped.length >> 1]! ^= 0xff;
      writeFileSync(file, flipped);
      expect(await logits()).toEqual(first);
      expect(readFileSync(file).equals(bytes)).toBe(true);

      // No sidecar: not trusted either; the file is replaced (a new inode, by rename) and its sidecar written.
      rmSync(`${file}.sha256`);
      const before = statSync(file).ino;
      expect(await logits()).toEqual(first);
      const after = statSync(file).ino;
      expect(after).not.toBe(before);
      expect(existsSync(`${file}.sha256`)).toBe(true);
      expect(readFileSync(file).equals(bytes)).toBe(true);

      // A file that matches its sidecar is read, not written.
      expect(await logits()).toEqual(first);
      expect(statSync(file).ino).toBe(after);
    } finally {
      if (saved === undefined) delete process.env.EFFNET_CACHE;
      else process.env.EFFNET_CACHE = saved;
      rmSync(cache, { recursive: true, force: true });
    }
  });
});

describe('Node with no WebGPU adapter', () => {
  test("'auto' classifies the sample photos on the CPU runtime; 'webgpu' is NO_ADAPTER", async () => {
    const { modelDir, samples } = await ensurePretrainedB0();
    // A Vulkan loader pointed at no driver: Dawn finds no adapter (NO_ADAPTER), as on a server without a GPU.
    const script = `
      import { loadModel, classify } from ${JSON.stringify(fileURLToPath(new URL('../dist/node.js', import.meta.url)))};
      const model = await loadModel({ arch: 'efficientnet_b0', weights: ${JSON.stringify(modelDir)} });
      const { predictions } = await classify(model, ${JSON.stringify(samples)});
      const gpu = await loadModel({ arch: 'efficientnet_b0', weights: 'random', backend: 'webgpu' }).then(() => 'loaded', (e) => e.code);
      console.log(JSON.stringify({ backend: model.backend, top: predictions.map((p) => p[0].label), gpu }));
      model.dispose();
    `;
    const env = { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json' };
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env, timeout: 120_000 });
    const out = JSON.parse(stdout.trim().split('\n').pop()!) as { backend: { name: string; reason: string }; top: string[]; gpu: string };
    expect(out.backend.name).toBe('cpu');
    expect(out.backend.reason).toMatch(/no WebGPU here \(NO_ADAPTER/);
    expect(out.gpu).toBe('NO_ADAPTER');
    // The package's two sample photos (README: car.jpg → sports car, panda.jpg → giant panda).
    expect(out.top.join(' | ')).toMatch(/sports car.*\|.*giant panda|giant panda.*\|.*sports car/i);
  });
});
