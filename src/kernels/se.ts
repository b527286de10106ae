/**
 * Squeeze-and-Excitation gate (kernels/se_excite.wgsl): finishes the squeeze from the partial sums the
 * preceding conv wrote, runs fc1 + SiLU and fc2 + sigmoid. Weight packing and the launch planner.
 */
import { EffnetError } from '../errors.js';
import { FALLBACK_TARGET, type Launch, type LaunchTarget, launchOf } from './launch.js';
import { kernelEntry } from './registry.js';
import { num, random, asRead } from './cases.js';
import { PROBE_IMAGES, type KernelOp } from './op.js';
import { seRef } from '../reference/se.js';
import { TOL } from '../reference/tolerances.js';

export interface SeShape {
  N: number;
  C: number;
  seC: number;
  /** Size of the gated activation, which the squeeze averages over. */
  H: number;
  W: number;
  /** Partial slots per image in `part`, as the conv's launch planner chose (dwconvLaunch's partSlots; 1 for a pooled mean). */
  partSlots: number;
}

/** kernels/se_excite.wgsl 4·MAX_SEC4: the squeezed vector's workgroup array. */
const MAX_SEC = 1024;

export function seExciteLaunch(shape: SeShape, target: LaunchTarget = FALLBACK_TARGET) {
  const { N, C, seC } = shape;
  if (!(seC >= 1 && seC <= MAX_SEC)) throw new EffnetError('LIMIT_EXCEEDED', `se_excite: squeeze width ${seC} is outside 1..${MAX_SEC}`);
  if (!(shape.partSlots >= 1)) throw new EffnetError('MODEL_SPEC', `se_excite: needs the squeeze partial sums of its conv (partSlots = ${shape.partSlots})`);
  const uniforms = { N, C, C4: Math.ceil(C / 4), seC4: Math.ceil(seC / 4), P: shape.partSlots, HW: shape.H * shape.W };
  const overrides = { WG: target.isFallback ? 32 : GPU_SE_WG };
  return launchOf('se_excite', uniforms, overrides);
}

/**
 * se_excite's workgroup on a hardware GPU: 256, the most WebGPU guarantees, so the squeeze's sum over the partial
 * slots and fc1's over the channels split across as many lanes as one workgroup has (one workgroup per image is all
 * the parallelism there is). SwiftShader takes 32: it runs a workgroup's barriers by switching between its 4-lane
 * groups, and 64 or 128 measured slower there on every B0 / V2-S shape.
 */
export const GPU_SE_WG = 256;

/**
 * The longest chain se_excite walks summing `P` squeeze partial slots of C4 channel vec4s on a GPU (its Serial
 * line; fc1 and fc2, which do not depend on P, at one squeeze vec4): what a depthwise planner weighs against its
 * own chain when it picks how many rows an invocation walks (fewer slots, longer rows).
 */
export function seSqueezeSteps(C4: number, P: number): number {
  return kernelEntry('se_excite').serialSteps({ N: 1, C: 4 * C4, C4, seC4: 1, P, HW: P, WG: GPU_SE_WG });
}

export interface PackedSe {
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

/**
 * torchvision SqueezeExcitation `fc1` [seC, C, 1, 1] + bias [seC] and `fc2` [C, seC, 1, 1] + bias [C] →
 * w1 [seC4, C4, 4] vec4 (for each group of 4 squeeze units and each channel vec4, the 4 units' weights),
 * b1 [seC4] vec4, w2 [seC4, 4, C4] vec4 (fc2 transposed: per squeeze unit, its weight into every channel),
 * b2 [C4] vec4. Channel and squeeze padding is 0.
 */
export function packSe(fc1w: Float32Array, fc1b: Float32Array, fc2w: Float32Array, fc2b: Float32Array, C: number, seC: number): PackedSe {
  if (fc1w.length !== seC * C || fc1b.length !== seC || fc2w.length !== C * seC || fc2b.length !== C) {
    throw new EffnetError('WEIGHTS', `se: expected fc1 [${seC},${C},1,1] + [${seC}] and fc2 [${C},${seC},1,1] + [${C}]`);
  }
  const C4 = Math.ceil(C / 4);
  const seC4 = Math.ceil(seC / 4);
  const w1 = new Float32Array(seC4 * C4 * 16);
  const w2 = new Float32Array(seC4 * 4 * C4 * 4);
  for (let j = 0; j < seC; j++) {
    const [j4, jj] = [Math.floor(j / 4), j % 4];
    for (let c = 0; c < C; c++) {
      const [c4, cc] = [Math.floor(c / 4), c % 4];
      w1[((j4 * C4 + c4) * 4 + jj) * 4 + cc] = fc1w[j * C + c]!;
      w2[j * C4 * 4 + c] = fc2w[c * seC + j]!;
    }
  }
  const b1 = new Float32Array(seC4 * 4);
  b1.set(fc1b);
  const b2 = new Float32Array(C4 * 4);
  b2.set(fc2b);
  return { w1, b1, w2, b2 };
}

/** The SE gate op. */
export const seExciteOp: KernelOp = {
  name: 'se_excite',
  kernels: ['se_excite'],
  benchable: true,
  case(_kernel, u, _o, seed) {
    const [N, C, C4, seC4, P, HW] = ['N', 'C', 'C4', 'seC4', 'P', 'HW'].map((f) => num(u, f)) as [number, number, number, number, number, number];
    const seC = 4 * seC4;
    // Partial sums as a conv would write them: slot values around HW / P, so their sum / HW is order 1.
    const part = random(N * P * C4 * 4, seed, 0, (2 * HW) / P);
    for (let i = 0; i < part.length; i++) if (i % (4 * C4) >= C) part[i] = 0;
    const fc1w = random(seC * C, seed + 1, -1 / Math.sqrt(C), 1 / Math.sqrt(C));
    const fc1b = random(seC, seed + 2, -0.5, 0.5);
    const fc2w = random(C * seC, seed + 3, -1 / Math.sqrt(seC), 1 / Math.sqrt(seC));
    const fc2b = random(C, seed + 4, -0.5, 0.5);
    // seRef averages an activation over HW positions; P slots scaled by P / HW average to Σ part / HW.
    const scaled = new Float64Array(N * P * C);
    for (let n = 0; n < N; n++) for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) scaled[(n * P + p) * C + c] = (part[(n * P + p) * C4 * 4 + c]! * P) / HW;
    const gate = seRef(scaled, N, P, C, seC, fc1w, fc1b, fc2w, fc2b);
    const want = new Float64Array(N * C4 * 4);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) want[n * C4 * 4 + c] = gate[n * C + c]!;
    const { w1, b1, w2, b2 } = packSe(fc1w, fc1b, fc2w, fc2b, C, seC);
    return { buffers: { part, w1, b1, w2, b2, se: N * C4 * 16 }, outputs: [{ label: 'se', binding: 'se', got: asRead(), want, tol: TOL.reduction }] };
  },
  probe: (l) => seProbe(l),
  // Channels ending inside a vec4 (every zoo SE has a multiple of 4): the gate's padding lanes must be written 0,
  // not sigmoid(0) = 0.5, or the projection it scales would let them through.
  edges(l) {
    const u = seProbe(l);
    const C = 4 * u.C4 - 3;
    return [{ uniforms: { ...u, C }, why: `${C} channels (the last vec4 one real, three padding lanes to write 0), ${PROBE_IMAGES} images` }];
  },
};

/** A small launch of `l`'s pipeline: more channel vec4s than invocations (the strided sums) where `l` has them. */
function seProbe(l: Launch) {
  const u = l.uniforms as Record<string, number>;
  const C4 = Math.min(u.C4!, l.overrides.WG! + 1);
  const P = Math.min(u.P!, 9);
  return { N: PROBE_IMAGES, C: 4 * C4, C4, seC4: Math.min(u.seC4!, 5), P, HW: 3 * P };
}
