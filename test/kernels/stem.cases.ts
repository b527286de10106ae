import type { CaseTag, KernelCase } from './case.js';
import { compare } from '../../src/reference/compare.js';
import { dispatchOnce } from '../support/dispatch.js';
import { randomF32, fromNHWC4, paddingValues, pad4 } from '../support/tensor.js';
import { TOL } from '../../src/reference/tolerances.js';
import { convRef } from '../../src/reference/conv.js';
import { denseStrides, packStem, stemLaunch, type InputStrides } from '../../src/kernels/stem.js';
import { convGeometry, distinctLayerShapes, type LayerShape } from '../../src/model/layers.js';
import { getArch } from '../../src/model/tables.js';

/**
 * 'pitched': an NCHW view into a bigger buffer (rows W + 5 apart, images a plane + 7 further apart), so
 * values the kernel must never read sit between the rows.
 */
type Layout = 'nchw' | 'nhwc' | 'pitched';

interface Spec {
  N: number;
  H: number;
  W: number;
  outC: number;
  padding: 'symmetric' | 'same';
  layout: Layout;
  tags: CaseTag[];
  /** Per-channel input normalisation done by the kernel (x·scale + shift on in-image taps). */
  affine?: { scale: number[]; shift: number[] };
  /** Plan for a hardware GPU instead of SwiftShader, to cover that tile too. */
  hardware?: boolean;
}

function stridesOf(s: Spec): InputStrides {
  if (s.layout !== 'pitched') return denseStrides(s.layout, s.H, s.W);
  const h = s.W + 5;
  return { n: 3 * s.H * h + 7, c: s.H * h, h, w: 1 };
}

const stemOf = (arch: string) => {
  const op = distinctLayerShapes(getArch(arch)).find((x): x is Extract<LayerShape, { kind: 'stem' }> => x.kind === 'stem')!;
  return { N: 1, H: op.H, W: op.W, outC: op.outC, padding: op.padding };
};

const SPECS: Spec[] = [
  { ...stemOf('efficientnet_b0'), layout: 'nchw', tags: ['b0', 'chrome'] },
  { ...stemOf('efficientnet_v2_s'), layout: 'nhwc', tags: ['v2s'] },
  // Odd input: both padding modes pad 1 on each side; batch 3 and a channel count that is not a multiple of 4.
  { N: 3, H: 225, W: 225, outC: 13, padding: 'symmetric', layout: 'nchw', tags: ['awkward', 'chrome'] },
  // Odd H, even W with TF SAME: the extra column of padding is on the right only.
  { N: 3, H: 97, W: 96, outC: 13, padding: 'same', layout: 'nhwc', tags: ['awkward'] },
  // The B7 width (64) on a small image, through a strided view.
  { N: 2, H: 40, W: 33, outC: 64, padding: 'same', layout: 'pitched', tags: ['awkward', 'chrome'] },
  // TF-Hub style [0, 1] input normalised in the kernel; SAME on an even size pads only after the image, and the
  // padding must be 0 after normalisation, not the normalised value of 0.
  {
    N: 1, H: 30, W: 28, outC: 24, padding: 'same', layout: 'nhwc', tags: ['awkward'],
    affine: { scale: [1 / 0.229, 1 / 0.224, 1 / 0.225], shift: [-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225] },
  },
  { N: 3, H: 21, W: 19, outC: 13, padding: 'symmetric', layout: 'nchw', tags: ['awkward'], hardware: true },
];

const label = (s: Spec) =>
  `stem ${s.N}×3×${s.H}×${s.W} → ${s.outC} ${s.padding} ${s.layout}${s.affine ? ' +affine' : ''}${s.hardware ? ' (hardware tile)' : ''}`;

async function runSpec(lib: Parameters<KernelCase['run']>[0], s: Spec, seed: number) {
  const strides = stridesOf(s);
  const launch = stemLaunch({ N: s.N, outC: s.outC, H: s.H, W: s.W, padding: s.padding, strides, affine: s.affine }, { isFallback: !s.hardware });
  const { Ho, Wo } = launch.uniforms;
  const gh = convGeometry(s.H, 3, 2, s.padding);
  const gw = convGeometry(s.W, 3, 2, s.padding);
  const at = (n: number, c: number, h: number, w: number) => n * strides.n + c * strides.c + h * strides.h + w * strides.w;
  // Normalised-image range ([0, 1] when the kernel normalises); every element of the buffer is random, the gaps of a
  // pitched view included.
  const x = randomF32(at(s.N - 1, 2, s.H - 1, s.W - 1) + 1, seed, s.affine ? 0.5 : 2).map((v) => (s.affine ? v + 0.5 : v));
  const norm = (v: number, c: number) => (s.affine ? v * s.affine.scale[c]! + s.affine.shift[c]! : v);
  const xDense = new Float64Array(s.N * s.H * s.W * 3);
  for (let n = 0; n < s.N; n++)
    for (let h = 0; h < s.H; h++)
      for (let w = 0; w < s.W; w++) for (let c = 0; c < 3; c++) xDense[((n * s.H + h) * s.W + w) * 3 + c] = norm(x[at(n, c, h, w)]!, c);
  const weight = randomF32(s.outC * 27, seed + 1, 1 / 3);
  const bias = randomF32(s.outC, seed + 2, 0.5);
  const { w, b } = packStem(weight, bias, s.outC);
  const pixels = s.N * Ho * Wo;
  const { y } = await dispatchOnce(lib, {
    kernel: launch.kernel,
    overrides: launch.overrides,
    uniforms: launch.uniforms,
    buffers: { x, w, b, y: pixels * pad4(s.outC) * 4 },
    read: ['y'],
  });
  const ref = convRef(
    {
      N: s.N, H: s.H, W: s.W, inC: 3, outC: s.outC, k: 3, stride: 2,
      padTop: gh.padBefore, padLeft: gw.padBefore, padBottom: gh.padAfter, padRight: gw.padAfter, act: 'silu',
    },
    xDense, weight, bias,
  );
  const name = label(s);
  return [
    compare([Ho, Wo], [ref.Ho, ref.Wo], TOL.exact, `${name}: output size`),
    compare(fromNHWC4(y!, s.N, Ho, Wo, s.outC), ref.y, TOL.conv, name),
    compare(paddingValues(y!, pixels, s.outC), new Array(pixels * (pad4(s.outC) - s.outC)).fill(0), TOL.exact, `${name}: padding channels stay zero`),
  ];
}

export const stemCases: KernelCase[] = SPECS.map((spec, i) => ({
  name: label(spec),
  kernel: 'stem',
  tags: spec.tags,
  run: (lib) => runSpec(lib, spec, 300 + 10 * i),
}));
