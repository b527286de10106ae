import type { CaseTag, KernelCase } from './case.js';
import type { KernelLibrary } from '../../src/kernels/library.js';
import { dwconvLaunch, packDwconv, type DwconvShape } from '../../src/kernels/dwconv.js';
import type { LaunchTarget } from '../../src/kernels/launch.js';
import { distinctLayerShapes } from '../../src/model/layers.js';
import { getArch } from '../../src/model/tables.js';
import { compare, type Comparison } from '../../src/reference/compare.js';
import { dispatchOnce } from '../support/dispatch.js';
import { fromNHWC4, pad4, paddingValues, randomF32, toNHWC4 } from '../support/tensor.js';
import { dwconvRef } from '../../src/reference/dwconv.js';
import { channelMeans } from '../../src/reference/se.js';
import { TOL } from '../../src/reference/tolerances.js';

export const dwconvLabel = (s: DwconvShape) =>
  `${s.N}x${s.H}x${s.W}x${s.C} k${s.k} s${s.s} ${s.padding}${s.squeeze ? ' +squeeze' : ''}`;

export interface DwconvRun {
  launch: ReturnType<typeof dwconvLaunch>;
  /** GPU output, NHWC4 [N, Ho, Wo, C4], and the squeeze partials [N, P, C4] (when squeezing). */
  y: Float32Array;
  part: Float32Array;
  /** float64 reference output, dense NHWC [N, Ho, Wo, C]. */
  ref: Float64Array;
}

/** One dwconv through its launch planner on seeded data, with the float64 reference of the same data. */
export async function runDwconv(lib: KernelLibrary, s: DwconvShape, seed: number, target?: LaunchTarget): Promise<DwconvRun> {
  const launch = dwconvLaunch(s, target);
  const { Ho, Wo } = launch.uniforms;
  const x = randomF32(s.N * s.H * s.W * s.C, seed, 2);
  const weight = randomF32(s.C * s.k * s.k, seed + 1, 1 / s.k);
  const bias = randomF32(s.C, seed + 2, 0.5);
  const { w, b } = packDwconv(weight, bias, s.C, s.k);
  const partBytes = Math.max(1, s.N * launch.partSlots * pad4(s.C)) * 4;
  const out = await dispatchOnce(lib, {
    kernel: launch.kernel,
    overrides: launch.overrides,
    uniforms: launch.uniforms,
    buffers: { x: toNHWC4(x, s.N, s.H, s.W, s.C), w, b, y: s.N * Ho * Wo * pad4(s.C) * 4, part: partBytes },
    read: ['y', 'part'],
  });
  const ref = dwconvRef(x, s.N, s.H, s.W, s.C, weight, bias, s.k, s.s, s.padding);
  if (ref.Ho !== Ho || ref.Wo !== Wo) throw new Error(`planner output ${Ho}x${Wo}, reference ${ref.Ho}x${ref.Wo}`);
  return { launch, y: out.y!, part: out.part!, ref: ref.y };
}

/** The dwconv output against the reference, and its padding channels against 0. */
export function checkDwconvOutput(s: DwconvShape, r: DwconvRun): Comparison[] {
  const { Ho, Wo } = r.launch.uniforms;
  const pixels = s.N * Ho * Wo;
  return [
    compare(fromNHWC4(r.y, s.N, Ho, Wo, s.C), r.ref, TOL.conv, `dwconv ${dwconvLabel(s)}`),
    compare(paddingValues(r.y, pixels, s.C), new Array(pixels * (pad4(s.C) - s.C)).fill(0), TOL.exact, 'padding stays zero'),
  ];
}

/** The squeeze partials of each image, summed over their slots and divided by Ho·Wo, against the reference channel means. */
function checkPartials(s: DwconvShape, r: DwconvRun): Comparison[] {
  const { Ho, Wo, C4 } = r.launch.uniforms;
  const P = r.launch.partSlots;
  const means = new Float64Array(s.N * pad4(s.C));
  for (let n = 0; n < s.N; n++) {
    for (let p = 0; p < P; p++) for (let c = 0; c < 4 * C4; c++) means[n * 4 * C4 + c]! += r.part[(n * P + p) * 4 * C4 + c]!;
  }
  const got = means.map((v) => v / (Ho * Wo));
  return [
    compare(fromNHWC4(got, s.N, 1, 1, s.C), channelMeans(r.ref, s.N, Ho * Wo, s.C), TOL.reduction, 'squeeze partials sum to the channel means'),
    compare(paddingValues(got, s.N, s.C), new Array(s.N * (pad4(s.C) - s.C)).fill(0), TOL.exact, 'squeeze padding stays zero'),
  ];
}

// Every MBConv block of V1 and V2 has SE, so the network always runs its depthwise convs with the squeeze.
const real = (arch: string, tag: CaseTag): { shape: DwconvShape; tags: CaseTag[] }[] =>
  distinctLayerShapes(getArch(arch)).flatMap((op) =>
    op.kind === 'dwconv' ? [{ shape: { N: 1, C: op.C, H: op.H, W: op.W, k: op.k, s: op.s, padding: op.padding, squeeze: true }, tags: [tag] }] : [],
  );

const awkward = (shape: DwconvShape, chrome = false): { shape: DwconvShape; tags: CaseTag[] } => ({ shape, tags: chrome ? ['awkward', 'chrome'] : ['awkward'] });

const SHAPES = [
  ...real('efficientnet_b0', 'b0'),
  ...real('efficientnet_v2_s', 'v2s'),
  // Odd and even sizes at stride 2 in both modes: SAME pads an even axis asymmetrically (0 before, 1 after).
  awkward({ N: 3, C: 6, H: 9, W: 11, k: 3, s: 2, padding: 'symmetric', squeeze: true }, true),
  awkward({ N: 3, C: 6, H: 9, W: 10, k: 3, s: 2, padding: 'same', squeeze: true }, true),
  awkward({ N: 2, C: 10, H: 10, W: 13, k: 5, s: 2, padding: 'same', squeeze: true }),
  awkward({ N: 1, C: 10, H: 13, W: 7, k: 5, s: 1, padding: 'same', squeeze: true }),
  awkward({ N: 3, C: 13, H: 11, W: 9, k: 7, s: 1, padding: 'symmetric', squeeze: true }),
  awkward({ N: 1, C: 13, H: 12, W: 17, k: 7, s: 2, padding: 'same', squeeze: false }),
  awkward({ N: 3, C: 13, H: 1, W: 1, k: 3, s: 1, padding: 'symmetric', squeeze: true }),
  awkward({ N: 2, C: 6, H: 1, W: 1, k: 5, s: 2, padding: 'same', squeeze: true }),
  awkward({ N: 2, C: 10, H: 15, W: 8, k: 3, s: 2, padding: 'symmetric', squeeze: false }),
  // Batch 3 with several output rows per invocation (10 here) and a ragged last row block (37 = 3·10 + 7).
  awkward({ N: 3, C: 24, H: 37, W: 29, k: 3, s: 1, padding: 'symmetric', squeeze: true }),
];

// B0's first depthwise conv (112×112×32) and its first k5 stride-2 one also run in Chromium.
SHAPES[0]!.tags.push('chrome');
SHAPES.find((c) => c.tags.includes('b0') && c.shape.k === 5 && c.shape.s === 2)!.tags.push('chrome');

const unrolled: KernelCase[] = SHAPES.map(({ shape, tags }, i) => ({
  name: `dwconv ${dwconvLabel(shape)}`,
  kernel: 'dwconv',
  tags,
  async run(lib) {
    const r = await runDwconv(lib, shape, 100 + 7 * i);
    return [...checkDwconvOutput(shape, r), ...(shape.squeeze ? checkPartials(shape, r) : [])];
  },
}));

// The quick tier's dwconv_compact on the same shapes: every kernel size and stride of B0 and V2-S and all the
// awkward ones (B0's and V2-S's other real shapes differ only in size, which are loop bounds here).
const QUICK: LaunchTarget = { isFallback: true, tier: 'quick' };
const compactShapes = SHAPES.filter(
  ({ shape, tags }, i) => tags.includes('awkward') || SHAPES.findIndex((o) => o.shape.k === shape.k && o.shape.s === shape.s) === i,
);
const compact: KernelCase[] = compactShapes.map(({ shape, tags }, i) => ({
  name: `dwconv_compact ${dwconvLabel(shape)}`,
  kernel: 'dwconv_compact',
  tags: [...tags.filter((t) => t !== 'chrome'), ...(i < 2 ? (['chrome'] as const) : [])],
  async run(lib) {
    const r = await runDwconv(lib, shape, 500 + 7 * i, QUICK);
    return [...checkDwconvOutput(shape, r), ...(shape.squeeze ? checkPartials(shape, r) : [])];
  },
}));

// A hardware GPU's schedule (4-pixel strips, workgroups of 64, more row blocks and so more squeeze slots).
const GPU: LaunchTarget = { isFallback: false };
const gpu: KernelCase[] = SHAPES.map(({ shape, tags }, i) => ({
  name: `dwconv ${dwconvLabel(shape)} (GPU target)`,
  kernel: 'dwconv',
  tags: tags.filter((t) => t !== 'chrome'),
  async run(lib) {
    const r = await runDwconv(lib, shape, 900 + 7 * i, GPU);
    return [...checkDwconvOutput(shape, r), ...(shape.squeeze ? checkPartials(shape, r) : [])];
  },
}));

export const dwconvCases: KernelCase[] = [...unrolled, ...compact, ...gpu];
