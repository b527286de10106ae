import type { CaseTag, KernelCase } from './case.js';
import { compare } from '../../src/reference/compare.js';
import { dispatchOnce } from '../support/dispatch.js';
import { randomF32, toNHWC4, fromNHWC4, paddingValues, pad4 } from '../support/tensor.js';
import { TOL } from '../../src/reference/tolerances.js';
import { convRef } from '../../src/reference/conv.js';
import { fusedConvLaunch, packFusedConv, type FusedConvShape } from '../../src/kernels/fused_conv.js';
import { kernelEntry } from '../../src/kernels/registry.js';
import { convGeometry, distinctLayerShapes, type LayerShape } from '../../src/model/layers.js';
import { getArch, withFusedStages } from '../../src/model/tables.js';

interface Spec {
  shape: FusedConvShape;
  tags: CaseTag[];
  /** Plan for a hardware GPU instead of SwiftShader, to cover that tile too. */
  hardware?: boolean;
}

const fusedOps = (arch: Parameters<typeof distinctLayerShapes>[0]) =>
  distinctLayerShapes(arch).filter((s): s is Extract<LayerShape, { kind: 'fused' }> => s.kind === 'fused');

const fromNet = (arch: Parameters<typeof distinctLayerShapes>[0], tags: CaseTag[]): Spec[] =>
  fusedOps(arch).map(({ kind: _kind, key: _key, ...op }) => ({ shape: { N: 1, ...op }, tags }));

const awkward = (shape: Omit<FusedConvShape, 'act'> & { act?: FusedConvShape['act'] }, extra: Partial<Spec> = {}): Spec => ({
  shape: { act: 'silu', ...shape },
  tags: ['awkward'],
  ...extra,
});

// The V2 paper's ablation on B0: stages 1–3 as Fused-MBConv, which brings k = 5 and 56/28-wide maps.
const [b0First, ...b0Rest] = fromNet(withFusedStages('efficientnet_b0', 3), ['b0']);

const SPECS: Spec[] = [
  ...fromNet(getArch('efficientnet_v2_s'), ['v2s']),
  { ...b0First!, tags: ['b0', 'chrome'] },
  ...b0Rest,
  // Channels not a multiple of 4, odd sizes at stride 2 (where both padding modes pad 1 on each side), batch 3.
  awkward({ N: 3, inC: 6, outC: 10, H: 13, W: 11, k: 3, s: 2, padding: 'symmetric', residual: false }, { tags: ['awkward', 'chrome'] }),
  // Even sizes at stride 2: TF SAME pads 0 at the top/left and 1 at the bottom/right.
  awkward({ N: 1, inC: 6, outC: 10, H: 14, W: 12, k: 3, s: 2, padding: 'same', residual: false }),
  awkward({ N: 3, inC: 12, outC: 12, H: 9, W: 7, k: 3, s: 1, padding: 'symmetric', residual: true }, { tags: ['awkward', 'chrome'] }),
  awkward({ N: 1, inC: 10, outC: 6, H: 11, W: 9, k: 5, s: 2, padding: 'same', residual: false, act: 'none' }),
  awkward({ N: 2, inC: 6, outC: 10, H: 8, W: 6, k: 7, s: 1, padding: 'symmetric', residual: false }),
  // 37 output columns: no tile width near 16 divides it, so the last tile of each row runs off the map.
  awkward({ N: 1, inC: 8, outC: 8, H: 5, W: 37, k: 3, s: 1, padding: 'same', residual: true }),
  awkward({ N: 2, inC: 6, outC: 10, H: 14, W: 12, k: 3, s: 2, padding: 'same', residual: false }, { hardware: true }),
  awkward({ N: 1, inC: 24, outC: 24, H: 19, W: 17, k: 3, s: 1, padding: 'symmetric', residual: true }, { hardware: true, tags: ['awkward', 'chrome'] }),
];

const label = ({ shape: s, hardware }: Spec) =>
  `fused_conv ${s.N}×${s.H}×${s.W} ${s.inC}→${s.outC} k${s.k} s${s.s} ${s.padding}${s.residual ? ' +res' : ''}${s.act === 'none' ? ' no-act' : ''}` +
  (hardware ? ' (GPU target)' : '');

/**
 * The launch a spec runs: its planner's. On the GPU target a network layer runs the GEMM tile planned for its
 * shape over its channels and width but only the first few output rows — at least two row tiles and a ragged one
 * (SwiftShader's cost grows with the workgroups: the 96×96 48→192 layer took 13 s whole; the rows past that repeat
 * the same path, and the SwiftShader target runs every layer whole).
 */
function plannedLaunch(spec: Spec): { shape: FusedConvShape; launch: ReturnType<typeof fusedConvLaunch>; note: string } {
  const s = spec.shape;
  const launch = fusedConvLaunch(s, { isFallback: !spec.hardware });
  if (!spec.hardware || spec.tags.includes('awkward')) return { shape: s, launch, note: '' };
  const o = launch.overrides as Record<string, number>;
  const BM = o.WG_M! * o.TM!;
  const rows = Math.ceil((2 * BM + 1) / launch.uniforms.Wo);
  const H = Math.min(s.H, (rows - 1) * s.s + s.k);
  if (H === s.H) return { shape: s, launch, note: '' };
  const shape = { ...s, H };
  const small = fusedConvLaunch(shape, { isFallback: false });
  if (small.kernel !== launch.kernel) throw new Error(`${shape.H}×${shape.W} plans ${small.kernel}, ${s.H}×${s.W} ${launch.kernel}`);
  const overrides = { ...small.overrides, ...launch.overrides };
  const workgroups = kernelEntry(small.kernel).workgroups({ ...small.uniforms, ...overrides });
  return { shape, launch: { ...small, overrides, workgroups } as typeof launch, note: ` (its tile, on ${H} input rows)` };
}

async function runSpec(lib: Parameters<KernelCase['run']>[0], spec: Spec, seed: number) {
  const { shape: s, launch, note } = plannedLaunch(spec);
  const { Ho, Wo } = launch.uniforms;
  const gh = convGeometry(s.H, s.k, s.s, s.padding);
  const gw = convGeometry(s.W, s.k, s.s, s.padding);
  const fanIn = s.inC * s.k * s.k;
  // Weights with variance 1/fanIn, as a trained conv after BN folding roughly has, keep outputs O(1).
  const weight = randomF32(s.outC * fanIn, seed, Math.sqrt(3 / fanIn));
  const bias = randomF32(s.outC, seed + 1, 0.5);
  const xDense = randomF32(s.N * s.H * s.W * s.inC, seed + 2);
  const resDense = s.residual ? randomF32(s.N * Ho * Wo * s.outC, seed + 3) : undefined;
  const { w, b } = packFusedConv(weight, bias, s.inC, s.outC, s.k);
  const pixels = s.N * Ho * Wo;
  const yBytes = pixels * pad4(s.outC) * 4;
  const { y } = await dispatchOnce(lib, {
    kernel: launch.kernel,
    overrides: launch.overrides,
    uniforms: launch.uniforms,
    buffers: {
      x: toNHWC4(xDense, s.N, s.H, s.W, s.inC),
      w,
      b,
      res: resDense ? toNHWC4(resDense, s.N, Ho, Wo, s.outC) : 16,
      y: yBytes,
    },
    read: ['y'],
  });
  const ref = convRef(
    {
      N: s.N, H: s.H, W: s.W, inC: s.inC, outC: s.outC, k: s.k, stride: s.s,
      padTop: gh.padBefore, padLeft: gw.padBefore, padBottom: gh.padAfter, padRight: gw.padAfter, act: s.act,
    },
    xDense, weight, bias, resDense,
  );
  const name = label(spec) + note;
  return [
    compare([Ho, Wo], [ref.Ho, ref.Wo], TOL.exact, `${name}: output size`),
    compare(fromNHWC4(y!, s.N, Ho, Wo, s.outC), ref.y, TOL.conv, name),
    compare(paddingValues(y!, pixels, s.outC), new Array(pixels * (pad4(s.outC) - s.outC)).fill(0), TOL.exact, `${name}: padding channels stay zero`),
  ];
}

// Every shape on SwiftShader's schedule (fused_conv) and on a hardware GPU's (fused_conv_tiled, which runs
// correctly, if slowly, here).
export const fusedConvCases: KernelCase[] = [
  ...SPECS.filter((spec) => !spec.hardware).map((spec, i) => ({
    name: label(spec),
    kernel: 'fused_conv',
    tags: spec.tags,
    run: (lib: Parameters<KernelCase['run']>[0]) => runSpec(lib, spec, 100 + 10 * i),
  })),
  ...SPECS.map((spec, i) => ({
    name: label({ ...spec, hardware: true }),
    kernel: 'fused_conv_tiled',
    tags: spec.tags,
    run: (lib: Parameters<KernelCase['run']>[0]) => runSpec(lib, { ...spec, hardware: true }, 2100 + 10 * i),
  })),
];
