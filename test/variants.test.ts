/**
 * What the self-test and the variant chain stand on, for every launch any zoo schedule plans (both targets,
 * both tiers, subgroups on and off, batch 1 and 2, NCHW and NHWC input, with and without softmax): each has a
 * probe — a small launch of the very same pipeline whose tile its WGSL allows and whose float64 case builds —
 * and a plain variant, when it has one, that binds the same buffers and packs the same uniform values. No GPU:
 * test/self-test.node.test.ts runs them.
 */
import { describe, expect, test } from 'vitest';
import type { Launch, LaunchTarget } from '../src/kernels/launch.js';
import { pipelineKey } from '../src/kernels/library.js';
import { kernelCase, probeLaunch } from '../src/kernels/ops.js';
import { kernelEntry, reflectedKernel } from '../src/kernels/registry.js';
import { isTunable, launchTileProblem, tuningKey, withTile } from '../src/kernels/tuning.js';
import { launchVariants, plainLaunch, selectLaunch } from '../src/kernels/variants.js';
import { getArch } from '../src/model/tables.js';
import { tileSpace } from '../src/kernels/tile-space.js';
import { plannedOps } from '../src/runtime/plan.js';

const TARGETS: LaunchTarget[] = [
  { isFallback: true, tier: 'tuned' },
  { isFallback: true, tier: 'quick' },
  { isFallback: false, tier: 'tuned', subgroups: true },
  { isFallback: false, tier: 'tuned', subgroups: false },
];

/**
 * The zoo's block and padding kinds: torchvision V1 (symmetric padding, k3/k5, SE) and V2 (Fused-MBConv), TF SAME
 * without SE (B0_small), B4's widths, and the standalone V2 code's own blocks. (Planning the largest models packs
 * hundreds of MB of zero weights for no new launch kind.)
 */
const ZOO = ['efficientnet_b0', 'efficientnet_b0_small', 'efficientnet_b4', 'efficientnet_v2_s', 'effnetv2_s'];

/** Every distinct launch (kernel, overrides, uniforms) of those schedules. */
function zooLaunches(): Launch[] {
  const seen = new Map<string, Launch>();
  for (const name of ZOO) {
    const spec = getArch(name);
    for (const target of TARGETS) {
      for (const [batch, layout, softmax] of [[1, 'nchw', false], [2, 'nhwc', true]] as const) {
        for (const op of plannedOps(spec, { batch, target, layout, softmax, res: batch === 1 ? spec.resolution : 64 })) {
          const l: Launch = { kernel: op.kernel, overrides: op.overrides, uniforms: op.uniforms, workgroups: op.workgroups };
          seen.set(`${pipelineKey(l.kernel, l.overrides)} ${JSON.stringify(l.uniforms)}`, l);
        }
      }
    }
  }
  return [...seen.values()];
}

const pack = (l: Launch) => reflectedKernel(kernelEntry(l.kernel)).uniforms.get('params')!.pack(l.uniforms, l.kernel);

describe('probes and plain variants of every zoo launch', () => {
  const launches = zooLaunches();

  test('the zoo schedules run only kernels with a probe', () => {
    expect(launches.length).toBeGreaterThan(500);
    const kernels = new Set(launches.map((l) => l.kernel));
    for (const k of ['dwconv', 'dwconv_compact', 'pointwise', 'pointwise_tiled', 'fused_conv', 'fused_conv_tiled', 'stem', 'se_excite', 'pool', 'pool_subgroup', 'softmax']) expect(kernels).toContain(k);
    for (const l of launches) expect(probeLaunch(l), l.kernel).toBeDefined();
  });

  test('each probe runs the same pipeline on a shape its tile allows, and its case builds small', () => {
    const cases = new Map<string, number>();
    for (const l of launches) {
      const p = probeLaunch(l)!;
      expect(pipelineKey(p.kernel, p.overrides)).toBe(pipelineKey(l.kernel, l.overrides));
      if (isTunable(l.kernel)) {
        const tile = Object.fromEntries(tileSpace(l.kernel)!.keys.map((k) => [k, p.overrides[k]!]));
        expect(launchTileProblem(p, tile), `${pipelineKey(l.kernel, l.overrides)} at ${JSON.stringify(p.uniforms)}`).toBeUndefined();
      }
      expect(() => pack(p)).not.toThrow();
      expect(p.workgroups).toBeGreaterThan(0);
      const key = `${pipelineKey(p.kernel, p.overrides)} ${JSON.stringify(p.uniforms)}`;
      if (cases.has(key)) continue;
      const c = kernelCase(p.kernel, p.uniforms, p.overrides, 1);
      const bytes = Object.values(c.buffers).reduce<number>((a, b) => a + (typeof b === 'number' ? b : b.byteLength), 0);
      cases.set(key, bytes);
      // Small enough that a device checks dozens in a blink, whatever the layer it stands for.
      expect(bytes, key).toBeLessThan(8 << 20);
      for (const o of c.outputs) expect(o.want.every(Number.isFinite), `${key} ${o.label}`).toBe(true);
    }
  });

  test('a plain variant binds the same buffers and packs the same uniform values', () => {
    const names = (k: string) => kernelEntry(k).bindings.map((b) => `${b.name}:${b.kind}`);
    let plains = 0;
    for (const l of launches) {
      const p = plainLaunch(l);
      if (!p) continue;
      plains++;
      expect(names(p.kernel), `${l.kernel} → ${p.kernel}`).toEqual(names(l.kernel));
      expect(() => pack(p)).not.toThrow();
      for (const [k, v] of Object.entries(l.uniforms)) expect(p.uniforms[k]).toEqual(v);
      // What the launch computes (its fusions, kernel size, stride, squeeze) is what the plain one computes.
      for (const k of ['ACT', 'SE_SCALE', 'HAS_RES']) if (k in l.overrides) expect(p.overrides[k]).toBe(l.overrides[k]);
      if (l.kernel === 'dwconv') expect([p.uniforms.K, p.uniforms.S, p.uniforms.TW, p.uniforms.squeeze]).toEqual([l.overrides.K, l.overrides.S, l.overrides.TW, l.overrides.SQUEEZE]);
    }
    expect(plains).toBeGreaterThan(100);
  });

  test("subgroups: the GPU target's pool takes pool_subgroup only when the adapter has them and they are not switched off", async () => {
    const { launchTarget } = await import('../src/runtime/compile.js');
    const report = { isFallback: false, features: { subgroups: true } } as Parameters<typeof launchTarget>[0];
    const pools = (t: LaunchTarget) => plannedOps(getArch('efficientnet_b0'), { target: t, res: 64 }).filter((o) => o.kernel.startsWith('pool')).map((o) => o.kernel);
    expect(pools(launchTarget(report, 'auto'))).toEqual(['pool_subgroup']);
    expect(pools(launchTarget(report, 'auto', 'tuned', undefined, { subgroups: false }))).toEqual(['pool']);
    expect(pools(launchTarget({ ...report, features: { subgroups: false } } as typeof report, 'auto'))).toEqual(['pool']);
  });

  test('the variant chain: tuned, planned, plain; a failed variant is skipped; none left is a SELF_TEST error', () => {
    const l = launches.find((x) => x.kernel === 'pointwise_tiled' && x.overrides.SE_SCALE === 1)!;
    const tile = { WG_M: 8, WG_N: 8, TM: 1, TN: 1, KT: 4, KS: 1 };
    const tuned = withTile(l, tile);
    const target: LaunchTarget = { isFallback: false, tuning: new Map([[tuningKey(l), tile]]) };
    const chain = launchVariants(l, target).map((x) => pipelineKey(x.kernel, x.overrides));
    expect(chain).toEqual([pipelineKey(tuned.kernel, tuned.overrides), pipelineKey(l.kernel, l.overrides), pipelineKey('pointwise', plainLaunch(l)!.overrides)]);
    expect(selectLaunch(l, target)).toEqual({ launch: tuned });
    const avoid = new Set([chain[0]!]);
    expect(selectLaunch(l, { ...target, avoid }).launch.overrides).toEqual(l.overrides);
    avoid.add(chain[1]!);
    expect(selectLaunch(l, { ...target, avoid }).launch.kernel).toBe('pointwise');
    avoid.add(chain[2]!);
    expect(() => selectLaunch(l, { ...target, avoid })).toThrow(/every variant of this pointwise_tiled launch failed the on-device self-test/);
  });
});
