/**
 * The CPU backend (src/cpu/): `loadModel({ backend })` choosing it, its logits against torchvision's and against our
 * WebGPU kernels, classify through it, and every bad call a typed error. This machine has only SwiftShader, so
 * 'auto' takes the CPU runtime (onnxruntime-node, a dev dependency here) — the issue's own setting.
 */
import { describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadModel } from '../src/api.js';
import { classifyImages } from '../src/classify.js';
import { CpuModel } from '../src/cpu/model.js';
import { isEffnetError } from '../src/errors.js';
import { PREPROCESS_TFJS } from '../src/kernels/preprocess.js';
import { parseSafetensors } from '../src/safetensors.js';
import { errorStats } from '../src/verify.js';
import { CPU_BACKEND_TOLERANCE } from '../src/tolerance.js';
import { ensurePretrainedB0 } from '../src/weights/fetch.js';
import { expectTfjsTop1 } from './support/tfjs-photos.js';

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
