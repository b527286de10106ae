import { describe, expect, test } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/api.js';
import { acquireGpu } from '../src/gpu.js';
import type { Launch } from '../src/kernels/launch.js';
import { pointwiseLaunch } from '../src/kernels/pointwise.js';
import { dwconvLaunch } from '../src/kernels/dwconv.js';
import { applyTuning, tileCandidates, tuningKey, withTile } from '../src/kernels/tuning.js';
import { instrument } from '../src/runtime/instrument.js';
import { plannedOps } from '../src/runtime/plan.js';
import { getArch } from '../src/model/tables.js';
import { parseSafetensors } from '../src/safetensors.js';
import { MODEL_TOLERANCE } from '../src/tolerance.js';
import { tuneModel } from '../src/tuning/measure.js';
import { mergeTuning, parseTuningFile, tuningCachePath, writeTuningCache, type TuningFile } from '../src/tuning/file.js';
import { errorStats } from '../src/verify.js';
import { effnet } from './support/cli.js';

const fixtures = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));
const GPU = { isFallback: false } as const;

describe('tuning keys, candidates and tuning files (no GPU)', () => {
  const shape = { N: 1, H: 14, W: 14, inC: 672, outC: 112, act: 'none', residual: true, seScale: true } as const;

  test('a launch keeps its key whatever its tile, and tuning swaps only the tile (and the workgroup count)', () => {
    const l = pointwiseLaunch(shape);
    const other = withTile(l, { TM: 2, TN: 1, WG: 64 });
    expect(tuningKey(other)).toBe(tuningKey(l));
    expect(other.uniforms).toEqual(l.uniforms);
    expect({ ACT: other.overrides.ACT, SE: other.overrides.SE_SCALE, RES: other.overrides.HAS_RES }).toEqual({ ACT: 0, SE: 1, RES: 1 });
    expect(other.workgroups).toBe(Math.ceil((Math.ceil(196 / 2) * Math.ceil(28 / 1)) / 64));
    // A different fusion is different work: another key.
    expect(tuningKey(pointwiseLaunch({ ...shape, residual: false }))).not.toBe(tuningKey(l));
    const tuned = applyTuning(l, { isFallback: true, tuning: new Map([[tuningKey(l), { TM: 2, TN: 1, WG: 64 }]]) });
    expect(tuned.overrides).toEqual(other.overrides);
    // The quick tier never takes tuning; a key it does not hold leaves the launch as planned.
    expect(applyTuning(l, { isFallback: true, tier: 'quick', tuning: new Map([[tuningKey(l), { TM: 2 }]]) })).toBe(l);
    expect(applyTuning(l, { isFallback: true, tuning: new Map([['pointwise|other', { TM: 2 }]]) })).toBe(l);
  });

  test('candidates start with the planned tile and stay within each kernel\'s limits', () => {
    const sw: Launch = pointwiseLaunch(shape);
    const c = tileCandidates(sw, 6);
    expect(c).toHaveLength(6);
    expect(c[0]).toEqual({ TM: sw.overrides.TM, TN: sw.overrides.TN, WG: sw.overrides.WG });
    expect(new Set(c.map((t) => JSON.stringify(t))).size).toBe(6);
    // The SE prologue keeps TM ≤ H·W; the register tile is at most 16 × 8.
    for (const t of c) expect(t.TM! <= 16 && t.TN! <= 8).toBe(true);
    const gpu = pointwiseLaunch(shape, GPU);
    const gemmWithin = (t: Record<string, number | undefined>) => {
      expect(t.WG_M! * t.WG_N! * t.KS!).toBeGreaterThanOrEqual(64);
      expect(t.WG_M! * t.WG_N! * t.KS!).toBeLessThanOrEqual(256);
      expect(t.TM! * t.TN! * 4).toBeLessThanOrEqual(64);
      expect(t.WG_M! * t.TM! * t.KT! * t.KS!).toBeLessThanOrEqual(256);
      expect(t.KT! * t.KS! * t.WG_N! * t.TN!).toBeLessThanOrEqual(128);
      if (t.KS! > 1) expect(t.TM! * t.TN!).toBe(1);
    };
    for (const t of tileCandidates(gpu, 8)) gemmWithin(t);
    // A layer too small for whole tiles (a 7×7 projection): split-K tiles are among the candidates, never past K.
    const late = pointwiseLaunch({ N: 1, H: 7, W: 7, inC: 672, outC: 192, act: 'none', residual: false, seScale: true }, GPU);
    expect(late.overrides.KS).toBeGreaterThan(1);
    const lateTiles = tileCandidates(late, 8);
    expect(lateTiles[0]).toMatchObject({ KS: late.overrides.KS });
    expect(lateTiles.filter((t) => t.KS! > 1).length).toBeGreaterThan(1);
    for (const t of lateTiles) {
      gemmWithin(t);
      expect(t.KS).toBeLessThanOrEqual(168);
    }
    const dw = dwconvLaunch({ N: 1, C: 96, H: 112, W: 112, k: 3, s: 2, padding: 'symmetric', squeeze: true });
    expect(tileCandidates(dw, 8).map((t) => Object.keys(t))).toEqual([['WG'], ['WG'], ['WG'], ['WG']]);
  });

  test('tuning files: entries of other adapters are kept, a key measured again replaces the old choice', () => {
    const a = { host: 'node', vendor: 'v', architecture: 'a', device: 'd1', description: '', isFallback: false } as never;
    const b = { host: 'node', vendor: 'v', architecture: 'a', device: 'd2', description: '', isFallback: false } as never;
    const x = pointwiseLaunch(shape);
    const y = pointwiseLaunch({ ...shape, residual: false });
    const choice = (l: Launch, TM: number) => ({ kernel: 'pointwise', key: tuningKey(l), tile: { TM, TN: 1, WG: 16 }, ms: 1, plannedMs: 2, layers: 1, tried: 3 });
    let file: TuningFile = mergeTuning(undefined, a, [choice(x, 2), choice(y, 3)]);
    file = mergeTuning(file, b, [choice(x, 4)]);
    file = mergeTuning(file, a, [choice(x, 8)]);
    expect(Object.keys(file.adapters)).toHaveLength(2);
    expect(file.adapters['node|v|a|d1|']!.choices.map((c) => [c.key, c.tile.TM])).toEqual([[tuningKey(y), 3], [tuningKey(x), 8]]);
    expect(parseTuningFile(JSON.parse(JSON.stringify(file)))).toEqual(file);
    // Every way a file can be wrong is in test/tuning-files.test.ts.
    const bad = JSON.parse(JSON.stringify(file));
    bad.adapters['node|v|a|d2|'].choices[0].tile = { TM: -1, TN: 1, WG: 16 };
    expect(() => parseTuningFile(bad, 'f.json')).toThrow(/f\.json: adapters\["node\|v\|a\|d2\|"\]\.choices\[0\] \(.*\): tile TM = -1 is outside 1\.\.16/);
  });
});

describe('on-device tuning (Node, Dawn)', () => {
  test('tuneModel times candidates within its budget; the cache it writes is what the next load takes', async () => {
    const model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: 'random', tuning: 'none', quickStart: false });
    try {
      const r = await tuneModel(model, { res: 64, budgetS: 6, maxCandidates: 3 });
      expect(r.timer).toBe('timestamp-query');
      expect(r.launches).toBeGreaterThan(20);
      expect(r.tuned).toBeGreaterThan(0);
      expect(r.tuned).toBeLessThanOrEqual(r.launches);
      // It starts no launch past its budget: at most one launch's compile and timing beyond it.
      expect(r.spentS).toBeLessThan(6 + 30);
      expect(r.compileMs).toBeGreaterThan(0);
      for (const c of r.choices) {
        expect(c.ms).toBeLessThanOrEqual(c.plannedMs);
        expect(c.tried).toBeGreaterThanOrEqual(1);
      }
      expect(r.tuning).toHaveLength(r.tuned);
      const path = await writeTuningCache(model.gpu.report, r.tuning);
      expect(path).toBe(await tuningCachePath());
      const again = await loadModel({ arch: 'efficientnet_b0', weights: 'random', device: model.gpu });
      try {
        expect(again.schedule.tuning).toEqual({ source: path, entries: r.tuned, warnings: [] });
        const input = { data: Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.cos(i)), shape: [1, 3, 64, 64] };
        const planned = await model.run(input, { tier: 'tuned' });
        const tuned = await again.run(input, { tier: 'tuned' });
        // A tile changes how work is cut up, not the order of any output's sum.
        expect(errorStats(tuned, planned).relL2).toBeLessThanOrEqual(1e-6);
      } finally {
        again.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  test('a tuned schedule (every tunable launch on another tile) matches torchvision within MODEL_TOLERANCE, every stage', async () => {
    // The second candidate of every tunable launch stands in for a choice. The launches come from the plan (no
    // compile); the fixture's first image keeps SwiftShader's run of the GPU target's tiles at half the cost
    // (B0 at 224² × 2: 22 s a run here), and the planned GPU schedule's own parity at batch 2 is parity.node's.
    const io = parseSafetensors(new Uint8Array(readFileSync(fixtures + 'efficientnet_b0.io.safetensors')));
    const first = (name: string) => {
      const t = io.get(name);
      const data = t.f32();
      return data.subarray(0, data.length / t.shape[0]!);
    };
    const [, ...chw] = io.get('input').shape;
    const choices = new Map<string, Record<string, number>>();
    for (const op of plannedOps(getArch('efficientnet_b0'), { res: 224, batch: 1, target: GPU })) {
      const c = tileCandidates({ kernel: op.kernel, overrides: op.overrides, uniforms: op.uniforms, workgroups: 0 }, 2);
      if (c[1]) choices.set(tuningKey(op), c[1]);
    }
    expect(choices.size).toBeGreaterThan(20);
    const gpu = await acquireGpu();
    try {
      const file = mergeTuning(undefined, gpu.report, [...choices].map(([key, tile]) => ({ kernel: key.split('|')[0]!, key, tile, ms: 0, plannedMs: 0, layers: 1, tried: 2 })));
      const tuned = await loadModel({ arch: 'efficientnet_b0', weights: fixtures + 'efficientnet_b0.weights.safetensors', target: 'gpu', tuning: file, device: gpu });
      try {
        expect(tuned.schedule.tuning.entries).toBe(choices.size);
        const { logits, stages } = await tuned.runStages({ data: first('input'), shape: [1, ...chw] });
        const checked = stages.filter((st) => io.has(st.name));
        expect(checked.length).toBeGreaterThanOrEqual(9);
        for (const st of checked) expect(errorStats(st.data, first(st.name)).relL2, st.name).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
        expect(errorStats(logits, first('logits')).relL2).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
        // What ran is the file's tiles, not the planned ones: every tunable launch took its choice.
        const s = await instrument(tuned, { batch: 1, height: 224, width: 224 });
        try {
          const ops = s.passes.flatMap((p) => p.ops).filter((op) => choices.has(tuningKey(op)));
          expect(ops.length).toBeGreaterThan(20);
          for (const op of ops) expect(op.overrides, op.name).toMatchObject(choices.get(tuningKey(op))!);
        } finally {
          s.release();
        }
      } finally {
        tuned.dispose();
      }
    } finally {
      gpu.destroy();
    }
  });

  test("tune: 'background' retunes a shape after its first tuned runs without blocking them; software adapters skip it", async () => {
    const gpu = await acquireGpu();
    try {
      const skipped = await loadModel({ arch: 'efficientnet_b0', weights: 'random', device: gpu, tune: 'background' });
      expect(skipped.schedule.background).toBe('skipped: a software adapter compiles too slowly');
      skipped.dispose();
      // The same device described as a hardware GPU: the path a real GPU takes (GPU-target kernels, which also
      // compile quickly here).
      const fast = { ...gpu, report: { ...gpu.report, isFallback: false } };
      const model = await loadModel({ arch: 'efficientnet_b0', weights: 'random', device: fast, tune: 'background', tuneBudgetS: 3, tuning: 'none', quickStart: false });
      try {
        expect(model.schedule).toMatchObject({ target: 'gpu', background: 'on', tuning: { source: 'none', entries: 0 } });
        // One small image: SwiftShader runs the GPU target's workgroup-memory tiles at a cost that grows with their
        // workgroups (B0 at 64² × 2: 4.7 s a run; at 32² × 1: 1.4 s), and the tuner's path is the same at any size.
        const input = { data: Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i)), shape: [1, 3, 32, 32] };
        const planned = await model.run(input);
        // A run while the tuning goes on is served, by the planned schedule, between the tuner's measurements.
        const during = await model.run(input);
        expect(errorStats(during, planned).relL2).toBe(0);
        await model.backgroundTuning();
        expect(model.schedule.tuning.entries).toBeGreaterThan(0);
        expect(model.schedule.tuning.source).toBe(await tuningCachePath());
        const tuned = await model.run(input);
        expect(errorStats(tuned, planned).relL2).toBeLessThanOrEqual(1e-6);
      } finally {
        model.dispose();
      }
    } finally {
      gpu.destroy();
    }
  });

  test('effnet tune: JSON report, tuning file, and a second load that compiles only the chosen pipelines', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'effnet-tune-')), 'tuning.json');
    const r = await effnet('tune', '--arch', 'efficientnet_b0', '--res', '64', '--budget-s', '4', '--max-candidates', '2', '--runs', '2', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ arch: 'efficientnet_b0', res: 64, batch: 1, target: 'fallback', timer: 'timestamp-query' });
    expect(report.tuned).toBeGreaterThan(0);
    expect(report.choices[0]).toHaveProperty('shape');
    expect(report.beforeMs).toBeGreaterThan(0);
    expect(report.afterMs).toBeGreaterThan(0);
    expect(report.secondLoad).toMatchObject({ tuningEntries: report.tuned, onlyScheduled: true, choicesApplied: true });
    expect(report.secondLoad.pipelines).toBeLessThan(report.secondLoad.firstLoadPipelines + 1);
    // Every candidate was output-checked on the device; a correct device rejects none.
    expect(report.rejected).toBe(0);
    // Tiles change no sum's order: the tuned logits are the planned ones but for f32 rounding.
    expect(report.logitsRelL2).toBeLessThanOrEqual(1e-6);
    // The tuning is kept only when the tuned model is not slower (at toy sizes and 2 runs either can happen).
    expect(report.accepted).toBe(report.ratio <= 1.03);
    if (report.accepted) {
      expect(report.written).toEqual([await tuningCachePath(), out]);
      const file = parseTuningFile(JSON.parse(readFileSync(out, 'utf8')));
      expect(Object.values(file.adapters)[0]!.choices).toHaveLength(report.tuned);
    } else {
      expect(report.written).toEqual([]);
      expect(existsSync(out)).toBe(false);
      expect(r.stderr).toContain('slower than the planned one in the network');
    }
    const bad = await effnet('tune', '--arch', 'efficientnet_b0', '--budget-s', '0');
    expect(bad.stderr).toContain("--budget-s must be a positive number of seconds, got '0'");
  });
});
