/**
 * The stem: 3×3 stride-2 conv over the raw 3-channel input + bias + SiLU (kernels/stem.wgsl), reading the
 * input through element strides so NCHW and NHWC images need no transpose: weight packing and launch planner.
 */
import { EffnetError } from '../errors.js';
import { convGeometry } from '../model/geometry.js';
import type { ArchSpec } from '../model/tables.js';
import { FALLBACK_TARGET, type Launch, type LaunchTarget } from './launch.js';
import { kernelEntry } from './registry.js';
import { convTile } from './tiles.js';

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
  padding: ArchSpec['padding'];
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
  return {
    kernel: 'stem',
    overrides,
    uniforms: {
      ...sizes,
      inScale: [...(shape.affine?.scale ?? [1, 1, 1]), 0],
      inShift: [...(shape.affine?.shift ?? [0, 0, 0]), 0],
    },
    workgroups: kernelEntry('stem').workgroups({ ...sizes, ...overrides }),
  } satisfies Launch;
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
