import { describe, expect, test } from 'vitest';
import { loadModel } from '../src/api.js';
import { isEffnetError, type ErrorCode } from '../src/errors.js';
import { acquireGpu } from '../src/gpu.js';
import { getArch, type ArchName } from '../src/model/tables.js';
import { planArena } from '../src/runtime/arena.js';
import { serializeSafetensors } from '../src/safetensors.js';

async function rejects(p: Promise<unknown>, code: ErrorCode, re: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(isEffnetError(e, code), `expected EffnetError('${code}'), got ${String(e)}`).toBe(true);
  expect((e as Error).message).toMatch(re);
}

describe('model API: bad input is a clear error, never a crash or a wrong answer', () => {
  test('input shape, dtype, NaN, layout and disposal are validated before any GPU work', async () => {
    const model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: 'random' });
    try {
      await rejects(model.run(new Float32Array(100)), 'INPUT', /not a whole number of 3×224×224 images/);
      await rejects(model.run({ data: new Float32Array(3 * 64 * 64), shape: [1, 4, 64, 48] }), 'INPUT', /needs|3 channels/);
      await rejects(model.run({ data: new Float32Array(3 * 64 * 64), shape: [1, 3, 64, 63] }), 'INPUT', /needs 12096 values, got 12288/);
      await rejects(model.run({ data: new Float64Array(3 * 64 * 64) as unknown as Float32Array, shape: [1, 3, 64, 64] }), 'INPUT', /must be a Float32Array, got Float64Array/);
      await rejects(model.run(new Float64Array(3 * 224 * 224) as unknown as Float32Array), 'INPUT', /got Float64Array/);
      await rejects(model.run(null as unknown as Float32Array), 'INPUT', /got null/);
      const nan = new Float32Array(3 * 64 * 64);
      nan[77] = NaN;
      await rejects(model.run({ data: nan, shape: [1, 3, 64, 64] }), 'INPUT', /NaN at index 77/);
      await rejects(model.run({ data: new Float32Array(3 * 64 * 64), shape: [1, 3, 64, 64], layout: 'CHWN' as 'NCHW' }), 'INPUT', /layout must be/);
      await rejects(model.run({ data: new Float32Array(3 * 4 * 4), shape: [1, 3, 4, 4] }), 'INPUT', /too small/);
    } finally {
      model.dispose();
    }
    await rejects(model.run(new Float32Array(3 * 224 * 224)), 'DISPOSED', /disposed/);
  });

  test('weights: unknown format, unreadable path, wrong architecture are named', async () => {
    const bogus = serializeSafetensors({ 'some.tensor': { dtype: 'F32', shape: [2], data: new Float32Array(2) } });
    await rejects(loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: bogus }), 'WEIGHTS', /not a torchvision .* or timm .* state_dict; first tensors: some\.tensor/);
    await rejects(loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: '/no/such/weights.safetensors' }), 'IO', /cannot read weights from \/no\/such\/weights\.safetensors/);
    await rejects(loadModel({ backend: 'webgpu', arch: 'efficientnet_b9' as ArchName, weights: 'random' }), 'MODEL_SPEC', /efficientnet_b9/);
    await rejects(loadModel({ backend: 'webgpu', arch: { ...getArch('efficientnet_b0'), stages: [] }, weights: 'random' }), 'MODEL_SPEC', /stage/);
  });

  test('a different batch and resolution re-plans and caches per shape; dispose frees every buffer', async () => {
    const model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: 'random' });
    const a = await model.run({ data: new Float32Array(2 * 3 * 64 * 64).fill(0.5), shape: [2, 3, 64, 64] });
    const b = await model.run({ data: new Float32Array(1 * 3 * 64 * 64).fill(0.5), shape: [1, 3, 64, 64] });
    expect(a.length).toBe(2000);
    expect(b.length).toBe(1000);
    // Same image in both batches must give the same logits (no state leaks between plans or batch rows).
    for (let i = 0; i < 1000; i++) expect(a[1000 + i]).toBeCloseTo(b[i]!, 5);
    const probs = await model.run({ data: new Float32Array(3 * 64 * 64).fill(0.5), shape: [1, 3, 64, 64] }, { probabilities: true });
    expect(probs.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);
    model.dispose();
    expect(model.weightBytes).toBe(0);
  });
});

describe('the output check', () => {
  test('a finite run is one submit; only a non-finite one runs again (keeping every stage) to name the stage', async () => {
    const gpu = await acquireGpu();
    const model = await loadModel({ arch: 'efficientnet_b0', weights: 'random', device: gpu });
    const queue = gpu.device.queue;
    const submit = queue.submit.bind(queue);
    let submits = 0;
    queue.submit = (cbs) => (submits++, submit(cbs));
    try {
      const x = { data: new Float32Array(3 * 64 * 64).fill(0.5), shape: [1, 3, 64, 64] };
      await model.run(x);
      submits = 0;
      await model.run(x);
      expect(submits).toBe(1);
      submits = 0;
      await rejects(model.run({ ...x, data: new Float32Array(3 * 64 * 64).fill(3e38) }), 'NUMERIC', /the first non-finite stage output is features\.0/);
      expect(submits).toBe(2);
    } finally {
      queue.submit = submit;
      model.dispose();
      gpu.destroy();
    }
  });
});

describe('liveness arena', () => {
  test('quick start: first runs on the quick schedule, then the tuned one once compiled; both agree', async () => {
    const model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: 'random' });
    try {
      const x = { data: new Float32Array(2 * 3 * 64 * 64).map((_, i) => Math.sin(i * 0.01)), shape: [2, 3, 64, 64] };
      const first = await model.run(x);
      const quick = await model.run(x, { tier: 'quick' });
      // The same schedule on the same input: bit for bit.
      expect(Array.from(quick)).toEqual(Array.from(first));
      const tuned = await model.run(x, { tier: 'tuned' });
      // Other tiles sum in another order, so only f32 rounding apart.
      let maxDiff = 0;
      for (let i = 0; i < tuned.length; i++) maxDiff = Math.max(maxDiff, Math.abs(tuned[i]! - quick[i]!));
      expect(maxDiff).toBeGreaterThan(0);
      expect(maxDiff).toBeLessThan(1e-5);
      // Once the tuned schedule has compiled, a plain run takes it.
      expect(Array.from(await model.run(x))).toEqual(Array.from(tuned));
    } finally {
      model.dispose();
    }
    const off = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: 'random', quickStart: false });
    try {
      const x = { data: new Float32Array(3 * 64 * 64).fill(0.25), shape: [1, 3, 64, 64] };
      expect(Array.from(await off.run(x))).toEqual(Array.from(await off.run(x, { tier: 'tuned' })));
    } finally {
      off.dispose();
    }
  });

  test('tensors with disjoint lifetimes share slots; overlapping ones never do', () => {
    const plan = planArena([
      { id: 0, bytes: 100, first: -1, last: 0 },
      { id: 1, bytes: 400, first: 0, last: 1 },
      { id: 2, bytes: 300, first: 1, last: 2 },
      { id: 3, bytes: 50, first: 2, last: Infinity },
    ]);
    expect(plan.slotOf.get(0)).not.toBe(plan.slotOf.get(1));
    expect(plan.slotOf.get(1)).not.toBe(plan.slotOf.get(2));
    expect(plan.slotOf.get(0)).toBe(plan.slotOf.get(2));
    expect(plan.slotOf.get(3)).toBe(plan.slotOf.get(1));
    expect(plan.peakBytes).toBe(300 + 400);
    expect(plan.naiveBytes).toBe(850);
  });
});
