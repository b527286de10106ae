import type { CaseTag, KernelCase } from './case.js';
import type { LaunchTarget } from '../../src/kernels/launch.js';
import { poolLaunch, type PoolShape } from '../../src/kernels/pool.js';
import { softmaxLaunch, topK, type SoftmaxShape } from '../../src/kernels/softmax.js';
import { distinctLayerShapes } from '../../src/model/layers.js';
import { getArch } from '../../src/model/tables.js';
import { compare } from '../../src/reference/compare.js';
import { dispatchOnce } from '../support/dispatch.js';
import { fromNHWC4, pad4, paddingValues, randomF32, toNHWC4 } from '../support/tensor.js';
import { avgPoolRef, softmaxRef } from '../../src/reference/pool.js';
import { TOL } from '../../src/reference/tolerances.js';

const head = (arch: string): PoolShape => {
  const op = distinctLayerShapes(getArch(arch)).find((o) => o.kind === 'head')!;
  if (op.kind !== 'head') throw new Error(`${arch} has no head`);
  return { N: 1, C: op.outC, H: op.H, W: op.W };
};
const classes = (arch: string): SoftmaxShape => {
  const op = distinctLayerShapes(getArch(arch)).find((o) => o.kind === 'classifier')!;
  if (op.kind !== 'classifier') throw new Error(`${arch} has no classifier`);
  return { N: 1, K: op.outC };
};

const POOL: { shape: PoolShape; tags: CaseTag[] }[] = [
  { shape: head('efficientnet_b0'), tags: ['b0', 'chrome'] },
  { shape: head('efficientnet_v2_s'), tags: ['v2s', 'chrome'] },
  { shape: { N: 3, C: 13, H: 5, W: 3 }, tags: ['awkward', 'chrome'] },
  { shape: { N: 2, C: 6, H: 1, W: 1 }, tags: ['awkward'] },
  { shape: { N: 3, C: 1280, H: 7, W: 7 }, tags: ['awkward'] },
];

const poolCase = (target: LaunchTarget, WG?: number) => ({ shape: s, tags }: (typeof POOL)[number], i: number): KernelCase => ({
  name: `pool ${s.N}x${s.H}x${s.W}x${s.C}${target.subgroups ? ' (GPU target, subgroups)' : ''}${WG ? ` WG ${WG}` : ''}`,
  kernel: target.subgroups ? 'pool_subgroup' : 'pool',
  tags,
  ...(target.subgroups ? { needs: ['subgroups' as GPUFeatureName] } : {}),
  async run(lib) {
    const planned = poolLaunch(s, target);
    const launch = WG ? { ...planned, overrides: { ...planned.overrides, WG } } : planned;
    const x = randomF32(s.N * s.H * s.W * s.C, 1000 + i, 3);
    const { y } = await dispatchOnce(lib, {
      kernel: launch.kernel,
      overrides: launch.overrides,
      uniforms: launch.uniforms,
      buffers: { x: toNHWC4(x, s.N, s.H, s.W, s.C), y: s.N * pad4(s.C) * 4 },
      read: ['y'],
    });
    return [
      compare(fromNHWC4(y!, s.N, 1, 1, s.C), avgPoolRef(x, s.N, s.H * s.W, s.C), TOL.reduction, `pool ${s.H}x${s.W}x${s.C}`),
      compare(paddingValues(y!, s.N, s.C), new Array(s.N * (pad4(s.C) - s.C)).fill(0), TOL.exact, 'padding stays zero'),
    ];
  },
});

// SwiftShader's pool, and a hardware GPU's with subgroups (pool_subgroup: a workgroup per channel vec4).
// pool_subgroup assumes no subgroup size or lane layout: workgroups as small as one subgroup (WG 4 on
// Chromium's SwiftShader, whose subgroups are 4 wide) and as large as WebGPU allows give the same sums, with
// fewer pixels than invocations or many more.
const avgPoolCases: KernelCase[] = [
  ...POOL.map(poolCase({ isFallback: true })),
  ...POOL.map(poolCase({ isFallback: false, subgroups: true })),
  ...[4, 8, 256].flatMap((WG) =>
    [{ shape: { N: 2, C: 9, H: 3, W: 3 }, tags: ['awkward', 'chrome'] as CaseTag[] }, { shape: { N: 1, C: 24, H: 23, W: 29 }, tags: ['awkward', 'chrome'] as CaseTag[] }].map(
      poolCase({ isFallback: false, subgroups: true }, WG),
    ),
  ),
];

const SOFTMAX: { shape: SoftmaxShape; scale: number; tags: CaseTag[] }[] = [
  // B0 and V2-S both classify into ImageNet's 1000 classes: one shape.
  { shape: classes('efficientnet_b0'), scale: 10, tags: ['b0', 'v2s', 'chrome'] },
  // Logits up to ±200: exp without the max subtracted would overflow f32.
  { shape: { N: 3, K: 13 }, scale: 200, tags: ['awkward', 'chrome'] },
  { shape: { N: 2, K: 1 }, scale: 5, tags: ['awkward'] },
  { shape: { N: 3, K: 1001 }, scale: 30, tags: ['awkward', 'chrome'] },
];

const softmaxCases: KernelCase[] = SOFTMAX.map(({ shape: s, scale, tags }, i) => ({
  name: `softmax ${s.N}x${s.K} ±${scale}`,
  kernel: 'softmax',
  tags,
  async run(lib) {
    const launch = softmaxLaunch(s);
    const K4 = launch.uniforms.K4;
    const logits = randomF32(s.N * s.K, 2000 + i, scale);
    // Rows padded to K4·4 lanes, with garbage in the padding that the kernel must ignore.
    const x = toNHWC4(logits, s.N, 1, 1, s.K);
    for (let n = 0; n < s.N; n++) for (let k = s.K; k < 4 * K4; k++) x[n * 4 * K4 + k] = 1e30;
    const { y } = await dispatchOnce(lib, {
      kernel: launch.kernel,
      overrides: launch.overrides,
      uniforms: launch.uniforms,
      buffers: { x, y: x.byteLength },
      read: ['y'],
    });
    const probs = fromNHWC4(y!, s.N, 1, 1, s.K);
    const want = softmaxRef(logits, s.N, s.K);
    // Top-5 per row, down to the classes whose probability is far from f32 underflow: wide logits send
    // most of them to exactly 0 on the GPU, where their order is a tie.
    const topGot: number[] = [];
    const topWant: number[] = [];
    for (let n = 0; n < s.N; n++) {
      const row = want.subarray(n * s.K, (n + 1) * s.K);
      const k = topK(row, 5).filter((t) => t.prob > 1e-20).length;
      topGot.push(...topK(probs.subarray(n * s.K, (n + 1) * s.K), k).map((t) => t.index));
      topWant.push(...topK(row, k).map((t) => t.index));
    }
    return [
      compare(probs, want, TOL.elementwise, `softmax ${s.N}x${s.K}`),
      compare(paddingValues(y!, s.N, s.K), new Array(s.N * (4 * K4 - s.K)).fill(0), TOL.exact, 'padding lanes are zero'),
      compare(topGot, topWant, TOL.exact, 'top-5 classes'),
    ];
  },
}));

// The head's two kernels: the global average pool and the softmax over the classifier's logits.
export const poolCases: KernelCase[] = [...avgPoolCases, ...softmaxCases];
