/**
 * The stem: 3×3 stride-2 conv over the raw 3-channel input + bias + SiLU (kernels/stem.wgsl), reading the
 * input through element strides so NCHW and NHWC images need no transpose: weight packing and launch planner.
 */
import { EffnetError } from '../errors.js';
import { convGeometry, type Padding } from './geometry.js';
import { FALLBACK_TARGET, type Launch, type LaunchTarget, launchOf } from './launch.js';
import { convSearch, convProbeSizes, convTile, sameAtStride2, sameWhy } from './tiles.js';
import { asRead, num, random } from './cases.js';
import type { KernelOp } from './op.js';
import { convRef } from '../reference/conv.js';
import { TOL } from '../reference/tolerances.js';

/** Element strides of the raw input tensor along N, C, H, W. */
export interface InputStrides {
  n: number;
  c: number;
  h: number;
  w: number;
}

/** Strides of a contiguous [N, 3, H, W] ('nchw') or [N, H, W, 3] ('nhwc') image batch. */
export function denseStrides(layout: 'nchw' | 'nhwc', H: number, W: number): InputStrides {
  return layout === 'nchw' ? { n: 3 * H * W, c: H * W, h: W, w: 1 } : { n: 3 * H * W, c: 1, h: 3 * W, w: 3 };
}

export interface StemShape {
  N: number;
  outC: number;
  /** Input size. */
  H: number;
  W: number;
  padding: Padding;
  strides: InputStrides;
  /** Per-channel x·scale + shift on in-image taps (the weights' own input normalisation); identity if absent. */
  affine?: { scale: readonly number[]; shift: readonly number[] };
}

const WG = 64;

export function stemLaunch(shape: StemShape, target: LaunchTarget = FALLBACK_TARGET) {
  const { N, outC, H, W, strides } = shape;
  const gh = convGeometry(H, 3, 2, shape.padding);
  const gw = convGeometry(W, 3, 2, shape.padding);
  const Cout4 = Math.ceil(outC / 4);
  if (Object.values(strides).some((v) => !Number.isInteger(v) || v < 0)) {
    throw new EffnetError('MODEL_SPEC', `stem: input strides must be non-negative integers, got ${JSON.stringify(strides)}`);
  }
  const sizes = {
    N, H, W, Ho: gh.out, Wo: gw.out, Cout4, padTop: gh.padBefore, padLeft: gw.padBefore,
    sN: strides.n, sC: strides.c, sH: strides.h, sW: strides.w,
  };
  // The fused conv's tile rule; on SwiftShader 16 × 4 also beats 8 × 4 and 4 × 4 here, by 1.2–1.6× on the B0, V2-S
  // and B7 stems.
  const overrides = { ...convTile(Cout4, gw.out, target), WG };
  return launchOf(
    'stem',
    {
      ...sizes,
      inScale: [...(shape.affine?.scale ?? [1, 1, 1]), 0],
      inShift: [...(shape.affine?.shift ?? [0, 0, 0]), 0],
    },
    overrides,
  );
}

/**
 * torchvision stem weight [outC, 3, 3, 3] and bias [outC] (BatchNorm already folded) → w as [3][3][CoutP4]
 * 3×4 column-major matrices (column c = input channel c, row r = output channel 4·co4 + r; CoutP4 = Cout4
 * rounded up to 4; a column is a vec4, so a matrix is 12 floats) and b [CoutP4] vec4, zero outside the real
 * channels.
 */
export function packStem(weight: Float32Array, bias: Float32Array, outC: number): { w: Float32Array; b: Float32Array } {
  if (weight.length !== outC * 27 || bias.length !== outC) {
    throw new EffnetError('WEIGHTS', `stem: expected weight [${outC},3,3,3] and bias [${outC}], got ${weight.length} and ${bias.length} values`);
  }
  const coutP4 = Math.ceil(outC / 16) * 4;
  const w = new Float32Array(9 * coutP4 * 12);
  for (let co = 0; co < outC; co++) {
    for (let c = 0; c < 3; c++) {
      for (let t = 0; t < 9; t++) w[(t * coutP4 + (co >> 2)) * 12 + c * 4 + (co & 3)] = weight[(co * 3 + c) * 9 + t]!;
    }
  }
  const b = new Float32Array(coutP4 * 4);
  b.set(bias);
  return { w, b };
}

/** The stem op: the network's first conv, normalising and reading the image in its own layout. */
export const stemOp: KernelOp = {
  name: 'stem',
  kernels: ['stem'],
  benchable: true,
  case(_kernel, u, _o, seed) {
    const [N, H, W, Ho, Wo, Cout4, padTop, padLeft] = ['N', 'H', 'W', 'Ho', 'Wo', 'Cout4', 'padTop', 'padLeft'].map((f) => num(u, f)) as [number, number, number, number, number, number, number, number];
    const [sN, sC, sH, sW] = ['sN', 'sC', 'sH', 'sW'].map((f) => num(u, f)) as [number, number, number, number];
    const scale = u.inScale as readonly number[];
    const shift = u.inShift as readonly number[];
    const outC = 4 * Cout4;
    const x = random(N * 3 * H * W, seed, 0, 1);
    // The kernel reads element (n, c, h, w) at n·sN + c·sC + h·sH + w·sW and applies the affine to in-image
    // taps only: the reference convolves the affine image with zero padding.
    const dense = new Float64Array(N * H * W * 3);
    for (let n = 0; n < N; n++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++)
          for (let c = 0; c < 3; c++) dense[((n * H + h) * W + w) * 3 + c] = x[n * sN + c * sC + h * sH + w * sW]! * scale[c]! + shift[c]!;
    const weight = random(outC * 27, seed + 1, -0.3, 0.3);
    const bias = random(outC, seed + 2, -0.5, 0.5);
    const spec = { N, H, W, inC: 3, outC, k: 3, stride: 2, padTop, padLeft, padBottom: (Ho - 1) * 2 + 3 - H - padTop, padRight: (Wo - 1) * 2 + 3 - W - padLeft, act: 'silu' as const };
    const want = convRef(spec, dense, weight, bias).y;
    const { w, b } = packStem(weight, bias, outC);
    return { buffers: { x, w, b, y: N * Ho * Wo * outC * 4 }, outputs: [{ label: 'y', binding: 'y', got: asRead(), want, tol: TOL.conv }] };
  },
  probe(l) {
    return stemProbe(l, convProbeSizes(l, 3, 2, false));
  },
  edges(l) {
    const uniforms = stemProbe(l, sameAtStride2(convProbeSizes(l, 3, 2, false), 3));
    return [{ uniforms, why: sameWhy(uniforms) }];
  },
  plain: (l) => launchOf('stem', l.uniforms, { TM: 1, TN: 1, WG: 64 }),
  candidates: (l) => convSearch(l),
};

/** The probe-sized launch of `l` at `sizes`, in `l`'s input layout and normalisation. */
function stemProbe(l: Launch, sizes: ReturnType<typeof convProbeSizes>) {
  // The launch's input layout (NHWC has unit channel stride) and its normalisation.
  const st = denseStrides(l.uniforms.sC === 1 ? 'nhwc' : 'nchw', sizes.H, sizes.W);
  return { ...sizes, sN: st.n, sC: st.c, sH: st.h, sW: st.w, inScale: l.uniforms.inScale!, inShift: l.uniforms.inShift! };
}
