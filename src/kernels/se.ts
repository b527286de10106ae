/**
 * Squeeze-and-Excitation gate (kernels/se_excite.wgsl): finishes the squeeze from the partial sums the
 * preceding conv wrote, runs fc1 + SiLU and fc2 + sigmoid. Weight packing and the launch planner.
 */
import { EffnetError } from '../errors.js';
import type { Overrides } from './library.js';
import { kernelEntry } from './registry.js';

export interface SeShape {
  N: number;
  C: number;
  seC: number;
  /** Size of the gated activation, which the squeeze averages over. */
  H: number;
  W: number;
  /** Partial slots per image in `part`, as the conv's launch planner chose (DwconvLaunch.partSlots). */
  partSlots: number;
}

export interface SeLaunch {
  kernel: 'se_excite';
  overrides: Overrides;
  uniforms: { N: number; C: number; C4: number; seC: number; P: number; HW: number };
  /** Linear workgroup count. */
  workgroups: number;
}

/** kernels/se_excite.wgsl MAX_SEC: the hidden vector's workgroup array. */
const MAX_SEC = 1024;

export function seExciteLaunch(shape: SeShape): SeLaunch {
  const { N, C, seC } = shape;
  if (!(seC >= 1 && seC <= MAX_SEC)) throw new EffnetError('LIMIT_EXCEEDED', `se_excite: squeeze width ${seC} is outside 1..${MAX_SEC}`);
  if (!(shape.partSlots >= 1)) throw new EffnetError('MODEL_SPEC', `se_excite: needs the squeeze partial sums of its conv (partSlots = ${shape.partSlots})`);
  const uniforms = { N, C, C4: Math.ceil(C / 4), seC, P: shape.partSlots, HW: shape.H * shape.W };
  const overrides = { WG: 64 };
  return { kernel: 'se_excite', overrides, uniforms, workgroups: kernelEntry('se_excite').workgroups({ ...uniforms, ...overrides }) };
}

export interface PackedSe {
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

/**
 * torchvision SqueezeExcitation `fc1` [seC, C, 1, 1] + bias [seC] and `fc2` [C, seC, 1, 1] + bias [C] →
 * w1 [seC, C4] vec4 (rows of fc1), b1 [seC], w2 [seC, C4] vec4 (fc2 transposed), b2 [C4] vec4; channel
 * padding is 0.
 */
export function packSe(fc1w: Float32Array, fc1b: Float32Array, fc2w: Float32Array, fc2b: Float32Array, C: number, seC: number): PackedSe {
  if (fc1w.length !== seC * C || fc1b.length !== seC || fc2w.length !== C * seC || fc2b.length !== C) {
    throw new EffnetError('WEIGHTS', `se: expected fc1 [${seC},${C},1,1] + [${seC}] and fc2 [${C},${seC},1,1] + [${C}]`);
  }
  const Cp = Math.ceil(C / 4) * 4;
  const w1 = new Float32Array(seC * Cp);
  const w2 = new Float32Array(seC * Cp);
  for (let j = 0; j < seC; j++) {
    for (let c = 0; c < C; c++) {
      w1[j * Cp + c] = fc1w[j * C + c]!;
      w2[j * Cp + c] = fc2w[c * seC + j]!;
    }
  }
  const b2 = new Float32Array(Cp);
  b2.set(fc2b);
  return { w1, b1: Float32Array.from(fc1b), w2, b2 };
}
