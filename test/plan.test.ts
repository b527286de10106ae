import { describe, expect, test } from 'vitest';
import { plannedOps, planSchedule, WIDE_LAUNCH_WORKGROUPS } from '../src/runtime/plan.js';
import { getArch } from '../src/model/tables.js';
import { modelInfo } from '../src/model/info.js';
import { effnet } from './support/cli.js';
import { gemmTile, gemmWorkgroups } from '../src/kernels/gemm_tiles.js';

const GPU = { isFallback: false, subgroups: true } as const;

describe('schedule plans (no GPU needed)', () => {
  for (const [arch, res] of [['efficientnet_b0', 224], ['efficientnet_v2_s', 384]] as const) {
    for (const batch of [1, 8]) {
      test(`${arch}@${res} batch ${batch}, GPU target: 64–256 invocations per workgroup (16–32 for late depthwise layers), ≤ 64 accumulators per invocation`, () => {
        const plan = planSchedule(getArch(arch), { res, batch, target: GPU });
        expect(plan.target).toBe('gpu');
        for (const l of plan.launches) {
          // A depthwise layer takes workgroups under 64 only to reach 132 of them.
          if (l.kernel === 'dwconv' && l.workgroupSize < 64) expect(Math.ceil(l.workgroups / 2), l.op).toBeLessThan(WIDE_LAUNCH_WORKGROUPS);
          expect(l.workgroupSize, l.op).toBeGreaterThanOrEqual(l.kernel === 'dwconv' ? 16 : 64);
          expect(l.workgroupSize, l.op).toBeLessThanOrEqual(256);
          expect(l.accumulators, l.op).toBeLessThanOrEqual(64);
          expect(l.invocations, l.op).toBe(l.workgroups * l.workgroupSize);
        }
        // The GEMM-shaped convs take the workgroup-memory kernels; the head pool reduces with subgroups.
        const kernels = new Set(plan.launches.map((l) => l.kernel));
        expect([...kernels].filter((k) => ['pointwise', 'fused_conv', 'pool'].includes(k))).toEqual([]);
        expect(kernels.has('pointwise_tiled')).toBe(true);
        expect(kernels.has('pool_subgroup')).toBe(true);
        // Same network, same work: FLOPs are the op list's (plus the global pool's adds), whatever the target.
        const info = modelInfo(getArch(arch), res);
        const pool = plan.launches.find((l) => l.op.endsWith('pool'))!.flops;
        expect(plan.launches.reduce((a, l) => a + l.flops, 0) - pool).toBe(batch * info.flops);
      });
    }
  }

  test('the latency structure at batch 1 (B0, B2, V2-S, GPU target): serial steps from each kernel\'s `// Serial:` line, and the totals', () => {
    for (const arch of ['efficientnet_b0', 'efficientnet_b2', 'efficientnet_v2_s']) {
      const plan = planSchedule(getArch(arch), { batch: 1, target: GPU });
      const t = plan.totals;
      expect(t.dispatches).toBe(plan.launches.length);
      expect(t.serialSteps).toBe(plan.launches.reduce((a, l) => a + l.serialSteps, 0));
      expect(t.narrow.map(({ op, workgroups }) => ({ op, workgroups }))).toEqual(plan.launches.filter((l) => l.workgroups < WIDE_LAUNCH_WORKGROUPS).map((l) => ({ op: l.op, workgroups: l.workgroups })));
      for (const l of plan.launches) expect(l.serialSteps, l.op).toBeGreaterThanOrEqual(1);
      // What the read of the plans found: a pointwise launch walks its K loop (input vec4s), a depthwise
      // one its input rows' taps, and the SE gate of an image runs in one workgroup.
      const ops = plannedOps(getArch(arch), { target: GPU });
      for (const l of plan.launches.filter((x) => x.kernel === 'pointwise_tiled')) {
        // Its slice of the K loop, then the slices' tree (split K).
        const KS = l.overrides.KS!;
        expect(l.serialSteps, l.op).toBe(Math.ceil((ops.find((o) => o.name === l.op)!.uniforms.K4 as number) / KS) + Math.ceil(Math.log2(KS)));
      }
      for (const l of plan.launches.filter((x) => x.kernel === 'dwconv')) {
        const u = ops.find((o) => o.name === l.op)!.uniforms;
        // Row reuse: its rows plus the ceil(K/S) − 1 it starts early, S input rows each, K taps per input row.
        const [k, st] = [l.overrides.K!, l.overrides.S!];
        expect(l.serialSteps, l.op).toBe(((u.rows as number) + Math.ceil(k / st) - 1) * st * k);
      }
      // Each narrow launch says why: its kernel's Dispatch line at the launch's values (one workgroup per image here).
      for (const l of plan.launches.filter((x) => x.kernel === 'se_excite')) expect(t.narrow).toContainEqual({ op: l.op, workgroups: 1, dispatch: 'N with N=1' });
      // Split K and small depthwise workgroups leave only the SE gates narrow (one workgroup per image).
      expect(t.narrow.filter((n) => !n.op.endsWith('.se'))).toEqual([]);
      const classifier = plan.launches.find((l) => l.op === 'head.classifier')!;
      expect(classifier.overrides.KS).toBeGreaterThan(1);
    }
  });

  test('the latency structure of B0, B2 and V2-S at batch 1: serial steps at least 3× below the schedule before (67/37/6187, 94/35/11132, 142/31/18101)', () => {
    const totals = (arch: string) => {
      const t = planSchedule(getArch(arch), { batch: 1, target: GPU }).totals;
      return { dispatches: t.dispatches, narrow: t.narrow.length, serialSteps: t.serialSteps };
    };
    // Narrow launches: only the SE gates (16, 23, 30). Serial steps: split K where a GEMM would leave a big GPU
    // mostly idle, the SE gate's partial sums joined by trees, and depthwise rows that balance the depthwise
    // chain against the SE gate's sum over the squeeze slots.
    expect(totals('efficientnet_b0')).toEqual({ dispatches: 67, narrow: 16, serialSteps: 1518 });
    expect(totals('efficientnet_b2')).toEqual({ dispatches: 94, narrow: 23, serialSteps: 2721 });
    expect(totals('efficientnet_v2_s')).toEqual({ dispatches: 142, narrow: 30, serialSteps: 5433 });
    for (const [before, arch] of [[6187, 'efficientnet_b0'], [11132, 'efficientnet_b2'], [18101, 'efficientnet_v2_s']] as const) {
      expect(totals(arch).serialSteps * 3, arch).toBeLessThanOrEqual(before);
    }
  });

  test('GEMM tiles: split K only where whole tiles leave a launch under 132 workgroups, never past K', () => {
    // B0's classifier at batch 1: 250 output vec4s, K4 = 320: one output vec4 per workgroup, 64 slices of 5 K steps.
    expect(gemmTile(1, 250, 320)).toMatchObject({ WG_M: 1, WG_N: 1, TM: 1, TN: 1, KS: 64 });
    // A projection at 7×7 (M = 49, 672 → 112 channels): several times the 48 workgroups whole tiles give.
    const late = gemmTile(49, 28, 168);
    expect(late.KS).toBeGreaterThan(1);
    expect(gemmWorkgroups(late, 49, 28)).toBeGreaterThanOrEqual(WIDE_LAUNCH_WORKGROUPS);
    // An early expansion fills the GPU whole; a tiny K is never split past its length.
    expect(gemmTile(12544, 24, 4).KS).toBe(1);
    expect(gemmTile(1, 4, 2).KS).toBeLessThanOrEqual(2);
  });

  test("the SwiftShader target keeps today's register-tiled kernels (tiles of up to 16 × 8 vec4)", () => {
    const plan = planSchedule(getArch('efficientnet_b0'), { target: { isFallback: true } });
    expect(plan.launches.some((l) => l.kernel === 'pointwise' && l.accumulators > 64)).toBe(true);
    expect(plan.launches.some((l) => l.kernel.endsWith('_tiled'))).toBe(false);
  });

  test('a GPU without subgroups pools with the plain kernel', () => {
    const plan = planSchedule(getArch('efficientnet_b0'), { target: { isFallback: false, subgroups: false } });
    expect(plan.launches.find((l) => l.op.endsWith('pool'))!.kernel).toBe('pool');
  });
});

describe('effnet plan (the built CLI)', () => {
  test('--json for V2-S at batch 8 on the GPU target', async () => {
    const r = await effnet('plan', '--arch', 'efficientnet_v2_s', '--batch', '8', '--json');
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan).toMatchObject({ arch: 'efficientnet_v2_s', res: 384, batch: 8, target: 'gpu' });
    expect(Object.keys(plan.launches[0]).sort()).toEqual(['accumulators', 'bytes', 'flops', 'invocations', 'kernel', 'op', 'overrides', 'serialSteps', 'workgroupSize', 'workgroups']);
    expect(Object.keys(plan.totals).sort()).toEqual(['bytes', 'dispatches', 'flops', 'narrow', 'serialSteps']);
    expect(Math.max(...plan.launches.map((l: { accumulators: number }) => l.accumulators))).toBeLessThanOrEqual(64);
  });

  test('the table names every launch, and bad flags get one line', async () => {
    const r = await effnet('plan', '--arch', 'efficientnet_b0', '--target', 'fallback');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('features.2.0.dwconv');
    expect(r.stdout).toMatch(/fallback target, tuned tier/);
    expect(r.stdout).toMatch(/\nlatency structure: 67 dispatches; \d+ under 132 workgroups; \d+ serial steps summed along the schedule; 0\.77 GFLOP; [\d.]+ MiB moved\n/);
    const bad = await effnet('plan', '--arch', 'efficientnet_b0', '--target', 'tpu');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--target must be gpu, fallback or auto, got 'tpu'");
    const small = await effnet('plan', '--arch', 'efficientnet_b0', '--res', '4');
    expect(small.stderr).toContain('--res must be at least 8');
  });
});
