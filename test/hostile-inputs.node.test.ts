/**
 * Oversized inputs as data: shapes whose activations no storage binding of the device can hold. Each is refused
 * with LIMIT_EXCEEDED from the plan, before the input is copied or anything compiled: within a time bound,
 * without the process's peak memory growing by a copy of the input, naming the tensor and the limit, and the
 * model still runs a normal input afterwards.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadModel } from '../src/api.js';
import { isEffnetError } from '../src/errors.js';
import { getArch } from '../src/model/tables.js';
import { buildGraph, packModel } from '../src/runtime/builder.js';
import type { Model } from '../src/runtime/model.js';
import { checkScheduleLimits, type ScheduleLimits } from '../src/runtime/plan.js';
import { randomParams } from '../src/weights/random.js';

const RES = 64;
const shape = [1, 3, RES, RES];
const ramp = () => new Float32Array(3 * RES * RES).map((_, i) => Math.sin(i * 0.01));
const peakBytes = () => process.resourceUsage().maxRSS * 1024;

/**
 * A zero-filled array of `shape`'s size: its pages are only mapped when touched, so a copy of it (which touches
 * every page of the copy) shows in the peak RSS while the array itself does not.
 */
const zeros = (s: number[]) => new Float32Array(s.reduce((a, b) => a * b, 1));

interface Case {
  name: string;
  call: (m: Model) => Promise<unknown>;
  message: RegExp;
}

const big = /needs a \d+-byte storage buffer, above this device's (maxStorageBufferBindingSize|maxBufferSize) \(\d+\); use a smaller batch or resolution/;
const cases: Case[] = [
  { name: 'run, [1, 3, 10000, 10000]', call: (m) => m.run({ data: zeros([1, 3, 10000, 10000]), shape: [1, 3, 10000, 10000] }), message: /batch 1 at 10000×10000: tensor features\.\S+ needs/ },
  { name: 'run, [4096, 3, 224, 224]', call: (m) => m.run({ data: zeros([4096, 3, 224, 224]), shape: [4096, 3, 224, 224] }), message: /batch 4096 at 224×224: tensor features\.\S+ needs/ },
  { name: 'run, [1, 10000, 10000, 3] NHWC, probabilities', call: (m) => m.run({ data: zeros([1, 10000, 10000, 3]), shape: [1, 10000, 10000, 3], layout: 'NHWC' }, { probabilities: true }), message: big },
  { name: 'run, a bare array of 4096 images at the resolution, tuned tier', call: (m) => m.run(zeros([4096, 3, 224, 224]), { tier: 'tuned' }), message: /batch 4096 at 224×224/ },
  { name: 'run, quick tier', call: (m) => m.run({ data: zeros([1, 3, 10000, 10000]), shape: [1, 3, 10000, 10000] }, { tier: 'quick' }), message: big },
  { name: 'run, output on the GPU', call: (m) => m.run({ data: zeros([4096, 3, 224, 224]), shape: [4096, 3, 224, 224] }, { output: 'gpu-buffer' }), message: big },
  { name: 'runStages, [1, 3, 10000, 10000]', call: (m) => m.runStages({ data: zeros([1, 3, 10000, 10000]), shape: [1, 3, 10000, 10000] }, { tier: 'quick' }), message: big },
  { name: 'prepare, batch 4096', call: (m) => m.prepare({ batch: 4096, height: 224, width: 224 }), message: big },
  { name: 'activationArena, 10000×10000', call: (m) => m.activationArena(1, 10000, 10000), message: big },
  {
    name: 'runOnGpuInput, batch 4096: the fill is never recorded',
    call: (m) =>
      m.runOnGpuInput({ batch: 4096, height: 224, width: 224, layout: 'nchw' }, () => {
        throw new Error('the fill ran');
      }),
    message: big,
  },
];

describe('oversized inputs: LIMIT_EXCEEDED from the plan, at once, no copy, the model fine afterwards', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: 'random' });
  });
  afterAll(() => model?.dispose());

  test.each(cases)('$name', async ({ call, message }) => {
    const peak = peakBytes();
    const t0 = performance.now();
    const e = await call(model).then(
      () => undefined,
      (err: unknown) => err,
    );
    const ms = performance.now() - t0;
    expect(isEffnetError(e, 'LIMIT_EXCEEDED'), `expected EffnetError('LIMIT_EXCEEDED'), got ${String(e)}`).toBe(true);
    expect((e as Error).message).toMatch(message);
    expect((e as Error).message).toMatch(big);
    expect(ms).toBeLessThan(2000);
    // A copy of the smallest of these inputs would add 1.2 GB.
    expect(peakBytes() - peak).toBeLessThan(256 * 2 ** 20);

    const y = await model.run({ data: ramp(), shape });
    expect(y.length).toBe(1000);
    expect(y.every(Number.isFinite)).toBe(true);
  });
});

describe('checkScheduleLimits: the decision from the plan alone, device limits as data', () => {
  const spec = getArch('efficientnet_b0');
  const packed = packModel(spec, randomParams(spec));
  const graph = buildGraph(spec, packed, { batch: 1, height: 224, width: 224, layout: 'nchw', keepStages: false, softmax: false, target: { isFallback: false, tier: 'tuned' } });
  // B0 at 224: its largest activation is features.2.0's 112×112×96 expansion, 4816896 bytes.
  const roomy: ScheduleLimits = { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28, maxComputeWorkgroupsPerDimension: 65535 };
  const cases: { name: string; limits: ScheduleLimits; message?: RegExp }[] = [
    { name: 'room for every tensor and dispatch', limits: roomy },
    { name: 'a binding one vec4 short of the largest tensor', limits: { ...roomy, maxStorageBufferBindingSize: 4816896 - 16 }, message: /^b0: tensor \S+ needs a 4816896-byte storage buffer, above this device's maxStorageBufferBindingSize \(4816880\)/ },
    { name: 'a buffer limit below the binding limit', limits: { ...roomy, maxBufferSize: 2 ** 20 }, message: /above this device's maxBufferSize \(1048576\)/ },
    { name: 'a dispatch that does not fold into 8×8 workgroups', limits: { ...roomy, maxComputeWorkgroupsPerDimension: 8 }, message: /^b0: \S+ dispatches \d+ workgroups, more than this device's 8²/ },
  ];
  test.each(cases)('$name', ({ limits, message }) => {
    if (!message) {
      expect(() => checkScheduleLimits(graph, limits, 'b0')).not.toThrow();
      return;
    }
    let e: unknown;
    try {
      checkScheduleLimits(graph, limits, 'b0');
    } catch (err) {
      e = err;
    }
    expect(isEffnetError(e, 'LIMIT_EXCEEDED'), `expected LIMIT_EXCEEDED, got ${String(e)}`).toBe(true);
    expect((e as Error).message).toMatch(message);
  });
});
