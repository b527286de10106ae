import { describe, expect, test } from 'vitest';
import { plannedOps, planSchedule, WIDE_LAUNCH_WORKGROUPS } from '../src/runtime/plan.js';
import { getArch } from '../src/model/tables.js';
import { modelInfo } from '../src/model/info.js';
import { effnet } from './support/cli.js';

const GPU = { isFallback: false, subgroups: true } as const;

describe('schedule plans (no GPU needed)', () => {
  for (const [arch, res] of [['efficientnet_b0', 224], ['efficientnet_v2_s', 384]] as const) {
    for (const batch of [1, 8]) {
      test(`${arch}@${res} batch ${batch}, GPU target: 64–256 invocations per workgroup, ≤ 64 accumulators per invocation`, () => {
        const plan = planSchedule(getArch(arch), { res, batch, target: GPU });
        expect(plan.target).toBe('gpu');
        for (const l of plan.launches) {
          expect(l.workgroupSize, l.op).toBeGreaterThanOrEqual(64);
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
      const project = plan.launches.find((l) => l.kernel === 'pointwise_tiled')!;
      const ops = plannedOps(getArch(arch), { target: GPU });
      expect(project.serialSteps).toBe(ops.find((o) => o.name === project.op)!.uniforms.K4);
      for (const l of plan.launches.filter((x) => x.kernel === 'dwconv')) {
        const u = ops.find((o) => o.name === l.op)!.uniforms;
        // Row reuse: its rows plus the ceil(K/S) − 1 it starts early, S input rows each, K taps per input row.
        const [k, st] = [l.overrides.K!, l.overrides.S!];
        expect(l.serialSteps, l.op).toBe(((u.rows as number) + Math.ceil(k / st) - 1) * st * k);
      }
      // Each narrow launch says why: its kernel's Dispatch line at the launch's values (one workgroup per image here).
      for (const l of plan.launches.filter((x) => x.kernel === 'se_excite')) expect(t.narrow).toContainEqual({ op: l.op, workgroups: 1, dispatch: 'N with N=1' });
      const classifier = t.narrow.find((n) => n.op === 'head.classifier');
      if (classifier) expect(classifier.dispatch).toMatch(/^ceil\(M \/ \(WG_M \* TM\)\) \* ceil\(N4 \/ \(WG_N \* TN\)\) with M=1 /);
    }
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
