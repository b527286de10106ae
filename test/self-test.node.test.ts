/**
 * Correct on every GPU, tested where we have none: a "miscompiling driver" is simulated by a device whose
 * pipeline creation swaps a constant for chosen variants (a GPU compiler bug has exactly this effect: the
 * pipeline the engine asked for computes something else). The self-test must catch each such variant before a
 * run uses it and replace it, the tuner must reject such a candidate, and tuning files — wrong, legal or from
 * the cache — must never change the logits beyond f32 rounding.
 */
import { createHash } from 'node:crypto';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadModel } from '../src/api.js';
import { isEffnetError } from '../src/errors.js';
import { acquireGpu, type Gpu } from '../src/gpu.js';
import { kernelEntry, kernelSource } from '../src/kernels/registry.js';
import { tileSpace } from '../src/kernels/tile-space.js';
import { tileCandidates, tuningKey } from '../src/kernels/tuning.js';
import { instrument } from '../src/runtime/instrument.js';
import { customArch, getArch } from '../src/model/tables.js';
import { MODEL_TOLERANCE } from '../src/tolerance.js';
import { RETILE_REL_L2, tuneModel } from '../src/tuning/measure.js';
import { adapterKey, engineStamp, mergeTuning, TUNING_FORMAT, tuningCachePath, type TuningChoice } from '../src/tuning/file.js';
import { errorStats } from '../src/verify.js';

/**
 * B0's first four stages, one block each, then its head: every kernel kind of B0 (k3 and k5 depthwise at stride 1
 * and 2, SE, expansion, projection with and without residual, head, pool, classifier) in a fraction of its
 * launches, so these tests compile and tune in seconds.
 */
const SMALL = customArch('efficientnet_b0', { name: 'b0_four_blocks', stages: getArch('efficientnet_b0').stages.slice(0, 4).map((r) => ({ ...r, repeats: 1 })) });

/**
 * A fresh device on which every pipeline of `kernel` whose constants pass `when` is built from what `corrupt`
 * makes of its descriptor, as a buggy driver would miscompile it. Returns the device (described as a hardware GPU
 * when asked, to take that path) and the pipelines it corrupted.
 */
async function miscompilingGpu(kernel: string, when: (c: Record<string, number>) => boolean, corrupt: (d: GPUComputePipelineDescriptor, device: GPUDevice) => GPUComputePipelineDescriptor, hardware = false) {
  const gpu = await acquireGpu();
  const corrupted: string[] = [];
  const create = gpu.device.createComputePipelineAsync.bind(gpu.device);
  gpu.device.createComputePipelineAsync = (d: GPUComputePipelineDescriptor) => {
    const c = (d.compute.constants ?? {}) as Record<string, number>;
    if (d.label === kernel && when(c)) {
      corrupted.push(JSON.stringify(c));
      return create(corrupt(d, gpu.device));
    }
    return create(d);
  };
  const dev: Gpu = hardware ? { ...gpu, report: { ...gpu.report, isFallback: false } } : gpu;
  return { gpu: dev, corrupted, destroy: () => gpu.destroy() };
}

const withConstants = (d: GPUComputePipelineDescriptor, f: (c: Record<string, number>) => Record<string, number>): GPUComputePipelineDescriptor => ({
  ...d,
  compute: { ...d.compute, constants: f((d.compute.constants ?? {}) as Record<string, number>) },
});

const input64 = { data: Float32Array.from({ length: 2 * 3 * 64 * 64 }, (_, i) => Math.cos(i * 0.01)), shape: [2, 3, 64, 64] };

describe('the on-device self-test (Node, Dawn)', () => {
  test('a miscompiled variant is caught before its first use, replaced by its plain sibling, and named; the run stays correct', async () => {
    // What a correct device computes (Dawn's shared device, untouched).
    const clean = await loadModel({ backend: 'webgpu', arch: SMALL, weights: 'random', target: 'gpu', tuning: 'none', quickStart: false });
    const want = await clean.run(input64);
    clean.dispose();
    // The GPU target's SE-gated projections: the "driver" applies SiLU where none belongs.
    const bad = await miscompilingGpu('pointwise_tiled', (c) => c.SE_SCALE === 1, (d) => withConstants(d, (c) => ({ ...c, ACT: 1 - c.ACT! })));
    try {
      // Without the self-test the corrupted pipelines run, and the logits are wrong: the injection is real.
      const unchecked = await loadModel({ arch: SMALL, weights: 'random', target: 'gpu', tuning: 'none', device: bad.gpu, selfTest: 'off', quickStart: false });
      expect(errorStats(await unchecked.run(input64), want).relL2).toBeGreaterThan(1e-2);
      unchecked.dispose();
      expect(bad.corrupted.length).toBeGreaterThan(0);

      const model = await loadModel({ arch: SMALL, weights: 'random', target: 'gpu', tuning: 'none', device: bad.gpu, selfTest: 'on', quickStart: false });
      try {
        // The plain kernel sums in the same order: f32 rounding apart, the same logits.
        expect(errorStats(await model.run(input64), want).relL2).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
        const s = model.schedule.selfTest;
        expect(s.enabled).toBe(true);
        expect(s.failed.length).toBeGreaterThan(0);
        for (const f of s.failed) {
          expect(f.variant).toMatch(/^pointwise_tiled\|.*SE_SCALE=1/);
          expect(f.message).toMatch(/FAIL/);
          expect(f.replacedBy).toMatch(/^pointwise\|.*SE_SCALE=1.*TM=1,TN=1,WG=64/);
        }
        // Every other variant passed: the self-test flags what is wrong and nothing else.
        expect(s.variants.filter((v) => v.status !== 'pass').map((v) => v.variant).sort()).toEqual(s.failed.map((f) => f.variant).sort());
        expect(s.checked).toBeGreaterThan(10);
      } finally {
        model.dispose();
      }
    } finally {
      bad.destroy();
    }
  });

  test("selfTest 'auto' runs on hardware adapters only; a variant with no correct alternative is a SELF_TEST error, not a wrong answer", async () => {
    const gpu = await acquireGpu();
    try {
      const sw = await loadModel({ arch: SMALL, weights: 'random', device: gpu, tuning: 'none' });
      await sw.run(input64);
      expect(sw.schedule.selfTest).toMatchObject({ enabled: false, checked: 0 });
      sw.dispose();
    } finally {
      gpu.destroy();
    }
    // se_excite has no plain sibling: if it is wrong, nothing correct is left to run. The "driver" flips a sign
    // in fc1.
    const source = kernelSource(kernelEntry('se_excite'));
    expect(source).toContain('silu4(red[lid] + b1[j4])');
    const bad = await miscompilingGpu('se_excite', () => true, (d, device) => ({ ...d, compute: { ...d.compute, module: device.createShaderModule({ code: source.replace('silu4(red[lid] + b1[j4])', 'silu4(red[lid] - b1[j4])') }) } }), true);
    try {
      const model = await loadModel({ arch: SMALL, weights: 'random', device: bad.gpu, tuning: 'none', quickStart: false });
      expect(model.schedule.selfTest.enabled).toBe(true);
      let err: unknown;
      await model.run(input64).catch((e: unknown) => (err = e));
      expect(isEffnetError(err, 'SELF_TEST'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(/every variant of this se_excite launch failed the on-device self-test/);
      model.dispose();
    } finally {
      bad.destroy();
    }
  });
});

describe('the tuner checks every candidate against the planned tile (Node, Dawn)', () => {
  test('a candidate the device gets wrong is reported as rejected and never chosen', async () => {
    // The "driver" miscompiles dwconv at every workgroup size but the planned one: its stride becomes 1. (The GPU
    // target, whose candidates compile quickly here; at 32×32 every depthwise layer is too small for 132
    // workgroups, so each plans the smallest, 16.)
    const planned = 16;
    const bad = await miscompilingGpu('dwconv', (c) => c.WG !== planned, (d) => withConstants(d, (c) => ({ ...c, S: 1 })));
    try {
      const model = await loadModel({ arch: SMALL, weights: 'random', device: bad.gpu, target: 'gpu', tuning: 'none', quickStart: false });
      try {
        const r = await tuneModel(model, { res: 32, budgetS: 1000, maxCandidates: 3, kernels: ['dwconv'] });
        const dw = r.choices.filter((c) => c.kernel === 'dwconv');
        const stride2 = dw.filter((c) => /\|.*S=2/.test(c.key.slice(c.key.lastIndexOf('|'))));
        expect(stride2.length).toBeGreaterThan(0);
        for (const c of stride2) {
          // Computed at stride 1, a stride-2 layer's output differs: both candidates rejected, the planned tile kept.
          expect(c.chosen).toEqual({ WG: planned });
          expect(c.rejected).toHaveLength(2);
          for (const x of c.rejected) expect(x.why).toMatch(/FAIL/);
        }
        // At stride 1 the "miscompile" changes nothing, and nothing is rejected: the check is no blanket refusal.
        for (const c of dw.filter((x) => !stride2.includes(x))) expect(c.rejected).toEqual([]);
        expect(r.rejected).toBe(stride2.length * 2);
        expect(r.choices.every((c) => c.kernel === 'dwconv')).toBe(true);
      } finally {
        model.dispose();
      }
    } finally {
      bad.destroy();
    }
  });
});

describe('tuning files never change the logits beyond f32 rounding (Node, Dawn)', () => {
  test('legal tiles for every tunable launch agree with the planned schedule; wrong files are typed errors; a bad cache is dropped with warnings', async () => {
    const base = await loadModel({ backend: 'webgpu', arch: SMALL, weights: 'random', target: 'gpu', tuning: 'none', quickStart: false });
    try {
      const planned = await base.run(input64);
      const s = await instrument(base, { batch: 2, height: 64, width: 64 });
      const choices: TuningChoice[] = [];
      for (const op of s.passes.flatMap((p) => p.ops)) {
        if (!tileSpace(op.kernel)) continue;
        const c = tileCandidates({ kernel: op.kernel, overrides: op.overrides, uniforms: op.uniforms, workgroups: 0 }, 3);
        const key = tuningKey(op);
        if (c[2] && !choices.some((x) => x.key === key)) choices.push({ kernel: op.kernel, key, tile: c[2], ms: 0, plannedMs: 0, layers: 1, tried: 3 });
      }
      s.release();
      expect(choices.length).toBeGreaterThan(10);
      const file = mergeTuning(undefined, base.gpu.report, choices);
      const tuned = await loadModel({ arch: SMALL, weights: 'random', target: 'gpu', tuning: file, device: base.gpu, quickStart: false });
      expect(tuned.schedule.tuning.entries).toBe(choices.length);
      expect(errorStats(await tuned.run(input64), planned).relL2).toBeLessThanOrEqual(RETILE_REL_L2);
      tuned.dispose();

      // The same file with one entry made wrong: refused before anything compiles, naming the entry and key.
      const wrong = structuredClone(file);
      const entry = wrong.adapters[adapterKey(base.gpu.report)]!.choices[3]!;
      entry.tile = { ...entry.tile, [tileSpace(entry.kernel)!.keys[0]!]: 999 };
      let err: unknown;
      const t0 = performance.now();
      await loadModel({ arch: SMALL, weights: 'random', target: 'gpu', tuning: wrong, device: base.gpu }).catch((e: unknown) => (err = e));
      expect(isEffnetError(err, 'TUNING'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(/choices\[3\] \(".*\): tile .* = 999 is outside/);
      expect(performance.now() - t0).toBeLessThan(5000);

      // The same wrong file in Node's default cache, stamped as the engine stamps what it writes (so only the
      // entry check stands between it and the model): the bad entry is dropped with a warning, the rest applies,
      // and no option is needed for either. Unstamped, the whole file is ignored.
      const cache = await tuningCachePath();
      mkdirSync(join(cache, '..'), { recursive: true });
      const checksum = createHash('sha256').update(JSON.stringify(wrong.adapters)).digest('hex');
      writeFileSync(cache, JSON.stringify({ format: wrong.format, engine: await engineStamp(), adapters: wrong.adapters, checksum }));
      try {
        const cached = await loadModel({ arch: SMALL, weights: 'random', target: 'gpu', device: base.gpu, quickStart: false });
        expect(cached.schedule.tuning.entries).toBe(choices.length - 1);
        expect(cached.schedule.tuning.warnings).toHaveLength(1);
        expect(cached.schedule.tuning.warnings[0]).toMatch(/choices\[3\].*999 is outside.*: dropped/);
        expect(errorStats(await cached.run(input64), planned).relL2).toBeLessThanOrEqual(RETILE_REL_L2);
        cached.dispose();
        // A cache that is not a tuning file at all is ignored with a warning; the model loads untuned.
        writeFileSync(cache, '{"format": "effnet-tuning/1", "adapters": [}');
        const ignored = await loadModel({ arch: SMALL, weights: 'random', target: 'gpu', device: base.gpu, quickStart: false });
        expect(ignored.schedule.tuning).toMatchObject({ entries: 0 });
        expect(ignored.schedule.tuning.warnings[0]).toMatch(/not a tuning file.*the tuning cache is ignored/);
        ignored.dispose();
        // The wrong file as it was, unstamped (copied there by hand): ignored whole, never applied.
        writeFileSync(cache, JSON.stringify(wrong));
        const unstamped = await loadModel({ arch: SMALL, weights: 'random', target: 'gpu', device: base.gpu, quickStart: false });
        expect(unstamped.schedule.tuning).toMatchObject({ entries: 0 });
        expect(unstamped.schedule.tuning.warnings[0]).toMatch(/written by another build of the kernels.*the tuning cache is ignored/);
        unstamped.dispose();
      } finally {
        writeFileSync(cache, JSON.stringify({ format: TUNING_FORMAT, adapters: {} }));
      }
    } finally {
      base.dispose();
    }
  });

  test('a tuning URL that never answers fails the load within timeoutMs; the model is not left half-made', async () => {
    const { createServer } = await import('node:http');
    const server = createServer(() => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const t0 = performance.now();
      let err: unknown;
      await loadModel({ backend: 'webgpu', arch: SMALL, weights: 'random', tuning: `http://127.0.0.1:${port}/tuning.json`, timeoutMs: 300 }).catch((e: unknown) => (err = e));
      expect(isEffnetError(err, 'IO'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(/no data for 0\.3 s/);
      expect(performance.now() - t0).toBeLessThan(5000);
      // A load that still works afterwards: nothing of the failed one is in the way.
      const m = await loadModel({ backend: 'webgpu', arch: SMALL, weights: 'random', tuning: 'none' });
      m.dispose();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
