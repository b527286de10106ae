import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadModel } from '../src/api.js';
import { acquireGpu, type Gpu } from '../src/gpu.js';
import { isEffnetError } from '../src/errors.js';
import { readBuffer } from '../src/buffers.js';
import type { Model } from '../src/runtime/model.js';
import { rng } from './support/tensor.js';

// GPU-resident I/O: `run({ buffer, shape, layout })` takes its input from a GPUBuffer and
// `run(x, { output: 'gpu-buffer' })` leaves the output in one the caller owns — each against the ordinary
// Float32Array run on the same data, in Node (Dawn). B0 with random weights at 64 px, on the quick tier (fast to compile).
describe('GPU-resident input and output (Node, Dawn)', () => {
  let model: Model;
  let device: GPUDevice;
  const N = 2;
  const S = 64;
  const nchw = new Float32Array(N * 3 * S * S);
  const r = rng(77);
  for (let i = 0; i < nchw.length; i++) nchw[i] = r() * 2 - 1;
  const shape = [N, 3, S, S];
  /** Every buffer made on the model's device, and whether it was destroyed. */
  const made: { label: string; destroyed: boolean }[] = [];
  let want: Float32Array;

  const gpuBuffer = (data: Float32Array, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, on = device) => {
    const b = on.createBuffer({ label: 'app input', size: data.byteLength, usage });
    if (usage & GPUBufferUsage.COPY_DST) on.queue.writeBuffer(b, 0, data as Float32Array<ArrayBuffer>);
    return b;
  };
  const read = async (b: GPUBuffer, floats: number) => new Float32Array(await readBuffer(device, b, floats * 4));

  beforeAll(async () => {
    model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: 'random' });
    device = model.gpu.device;
    const create = device.createBuffer.bind(device);
    device.createBuffer = (d: GPUBufferDescriptor) => {
      const b = create(d);
      const rec = { label: d.label ?? '', destroyed: false };
      made.push(rec);
      const destroy = b.destroy.bind(b);
      b.destroy = () => ((rec.destroyed = true), destroy());
      return b;
    };
    want = await model.run({ data: nchw, shape }, { tier: 'quick' });
  });
  afterAll(() => model?.dispose());

  test('a GPUBuffer input (NCHW, and NHWC) gives the Float32Array run’s logits', async () => {
    const input = gpuBuffer(nchw);
    try {
      expect(await model.run({ buffer: input, shape }, { tier: 'quick' })).toEqual(want);
    } finally {
      input.destroy();
    }
    const nhwc = new Float32Array(nchw.length);
    for (let n = 0; n < N; n++) for (let c = 0; c < 3; c++) for (let i = 0; i < S * S; i++) nhwc[(n * S * S + i) * 3 + c] = nchw[(n * 3 + c) * S * S + i]!;
    // A larger buffer is fine: the tensor is read from byte 0.
    const big = gpuBuffer(Float32Array.from([...nhwc, 1, 2, 3, 4]));
    try {
      const got = await model.run({ buffer: big, shape: [N, S, S, 3], layout: 'NHWC' }, { tier: 'quick' });
      expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThan(1e-4);
    } finally {
      big.destroy();
    }
  });

  test("output: 'gpu-buffer' holds the same dense [N, classes] logits (and probabilities), in a buffer the caller owns", async () => {
    const out = await model.run({ data: nchw, shape }, { tier: 'quick', output: 'gpu-buffer' });
    expect(out.shape).toEqual([N, 1000]);
    expect(out.buffer.size).toBe(N * 1000 * 4);
    expect(out.buffer.usage).toBe(GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
    expect(await read(out.buffer, N * 1000)).toEqual(want);
    // Probabilities too, from a GPU input: GPU in, GPU out.
    const input = gpuBuffer(nchw);
    const probs = await model.run({ buffer: input, shape }, { tier: 'quick', output: 'gpu-buffer', probabilities: true });
    input.destroy();
    const p = await read(probs.buffer, N * 1000);
    for (let n = 0; n < N; n++) expect(p.subarray(n * 1000, (n + 1) * 1000).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    out.buffer.destroy();
    probs.buffer.destroy();
  });

  test("the app chains the output into its own compute pass (argmax per image) with no read-back in between", async () => {
    const out = await model.run({ data: nchw, shape }, { tier: 'quick', output: 'gpu-buffer' });
    // The application's own kernel, bound straight to the model's output buffer.
    const module = device.createShaderModule({
      code: `
        @group(0) @binding(0) var<storage, read> logits: array<f32>;
        @group(0) @binding(1) var<storage, read_write> best: array<u32>;
        @compute @workgroup_size(1) fn main(@builtin(global_invocation_id) id: vec3<u32>) {
          var b = 0u;
          for (var k = 1u; k < 1000u; k++) { if (logits[id.x * 1000u + k] > logits[id.x * 1000u + b]) { b = k; } }
          best[id.x] = b;
        }`,
    });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const best = device.createBuffer({ label: 'app best', size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out.buffer } }, { binding: 1, resource: { buffer: best } }] }));
    pass.dispatchWorkgroups(N);
    pass.end();
    device.queue.submit([enc.finish()]);
    const got = new Uint32Array(await readBuffer(device, best, N * 4));
    const argmax = (n: number) => { const row = want.subarray(n * 1000, (n + 1) * 1000); return row.indexOf(Math.max(...row)); };
    expect([...got]).toEqual([argmax(0), argmax(1)]);
    best.destroy();
    out.buffer.destroy();
  });

  test('refusals are INPUT errors naming the buffer: another device, too small, no COPY_SRC, mapped, not a buffer; a bad output option', async () => {
    const other: Gpu = await acquireGpu();
    const refusal = async (input: unknown, opts: object = { tier: 'quick' }) => {
      try {
        await model.run(input as never, opts);
        return 'no error';
      } catch (e) {
        expect(isEffnetError(e, 'INPUT'), String(e)).toBe(true);
        return (e as Error).message;
      }
    };
    const foreign = gpuBuffer(nchw, GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, other.device);
    const small = gpuBuffer(nchw.subarray(0, 100));
    const noCopy = gpuBuffer(nchw, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
    const mapped = device.createBuffer({ label: 'app mapped', size: nchw.byteLength, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
    try {
      expect(await refusal({ buffer: foreign, shape })).toMatch(/^input buffer 'app input' cannot be used by this model: it must be a buffer of the model's device \(model\.gpu\.device\); WebGPU says: /);
      expect(await refusal({ buffer: small, shape })).toBe(`input buffer 'app input' holds 400 bytes; shape [2, 3, 64, 64] as dense float32 needs ${nchw.byteLength}`);
      expect(await refusal({ buffer: noCopy, shape })).toBe("input buffer 'app input' needs GPUBufferUsage.COPY_SRC (the run copies it into the network); its usage is COPY_DST | STORAGE");
      expect(await refusal({ buffer: mapped, shape })).toBe("input buffer 'app mapped' is mapped: unmap it before running");
      expect(await refusal({ buffer: nchw, shape })).toBe('input buffer must be a GPUBuffer, got Float32Array');
      expect(await refusal({ buffer: small, shape: [2, 4, 64, 64] })).toMatch(/^input must have 3 channels/);
      expect(await refusal(nchw, { output: 'gpu' })).toBe("output must be 'array' or 'gpu-buffer', got 'gpu'");
      // The model is unharmed.
      expect(await model.run({ data: nchw, shape }, { tier: 'quick' })).toEqual(want);
    } finally {
      for (const b of [foreign, small, noCopy, mapped]) b.destroy();
      other.destroy();
    }
  });

  test('an aborted gpu-buffer run leaves no buffer behind; device probes are destroyed; disposal leaves the caller’s output alive', async () => {
    const ac = new AbortController();
    const run = model.run({ data: nchw, shape }, { tier: 'quick', output: 'gpu-buffer', signal: ac.signal });
    ac.abort();
    await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
    // Runs are serial: once the next one is done, the aborted one has finished (or was skipped).
    const kept = await model.run({ data: nchw, shape }, { tier: 'quick', output: 'gpu-buffer' });
    const outputs = made.filter((b) => b.label.startsWith('output ['));
    expect(outputs.filter((b) => !b.destroyed)).toHaveLength(1);
    expect(made.filter((b) => b.label === 'input-device-probe' && !b.destroyed)).toEqual([]);
    // The caller's buffer stays valid after the model is gone; only its owner destroys it.
    const second = await loadModel({ arch: 'efficientnet_b0', weights: 'random', device: model.gpu.device });
    const own = await second.run({ data: nchw, shape }, { tier: 'quick', output: 'gpu-buffer' });
    second.dispose();
    expect((await read(own.buffer, N * 1000)).every(Number.isFinite)).toBe(true);
    own.buffer.destroy();
    expect(await read(kept.buffer, N * 1000)).toEqual(want);
    kept.buffer.destroy();
  });
});
