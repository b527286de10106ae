/**
 * Depthwise k×k conv + bias + SiLU (kernels/dwconv.wgsl), with the SE squeeze partial sums fused in:
 * weight packing from torchvision layouts and the launch planner.
 */
import { EffnetError } from '../errors.js';
import { convGeometry } from '../model/geometry.js';
import type { ArchSpec } from '../model/tables.js';
import type { Overrides } from './library.js';
import { FALLBACK_TARGET, type Launch, type LaunchTarget } from './launch.js';
import { kernelEntry } from './registry.js';

export interface DwconvShape {
  N: number;
  C: number;
  /** Input size. */
  H: number;
  W: number;
  k: number;
  s: number;
  padding: ArchSpec['padding'];
  /** Emit the SE squeeze partial sums (the block has SE). */
  squeeze: boolean;
}

/** dwconv_compact (the quick tier's one pipeline for every shape) also takes dwconv's overrides as uniforms. */
type DwconvUniforms = {
  H: number; W: number; C4: number; Ho: number; Wo: number; padTop: number; padLeft: number;
  strips: number; rows: number; rowBlocks: number; count: number;
  K?: number; S?: number; TW?: number; squeeze?: number;
};

/**
 * Tile choice, measured on SwiftShader (2 cores) over every B0 and V2-S shape: an invocation's fixed cost
 * (its K·K weight loads, index math, the partial-sum store) is large there, so an invocation takes as many
 * output rows as it can (up to MAX_ROWS, beyond which the gain was within noise) while the dispatch keeps
 * at least MIN_INVOCATIONS invocations (8 workgroups) to share between threads. Stride 2 keeps two windows
 * (even and odd taps) alive, so it runs 4-pixel strips; stride 1 runs 8 when the row is that wide.
 */
const MAX_ROWS = 16;
const MIN_INVOCATIONS = 256;
// Small workgroups: more of them to balance between SwiftShader's threads when a layer has few invocations.
const WG = 32;
/**
 * A hardware GPU: 4-pixel strips (16 accumulators, and the K·K weights stay in registers), workgroups of
 * 64, and as many invocations as the layer allows up to GPU_INVOCATIONS — beyond that an invocation takes
 * more rows, which reuses its weights and writes fewer squeeze partial slots for se_excite to sum.
 */
const GPU_WG = 64;
const GPU_INVOCATIONS = 16384;

/**
 * The launch, and how many squeeze partial slots per image it writes to `part` ([N, partSlots, C4] vec4;
 * se_excite sums them; 0 without squeeze).
 */
export function dwconvLaunch(shape: DwconvShape, target: LaunchTarget = FALLBACK_TARGET): Launch<DwconvUniforms> & { partSlots: number } {
  const { N, C, H, W, k, s } = shape;
  if (!(k % 2 === 1 && k >= 1 && k <= 7)) throw new EffnetError('MODEL_SPEC', `dwconv: kernel size must be odd and ≤ 7, got ${k}`);
  if (s !== 1 && s !== 2) throw new EffnetError('MODEL_SPEC', `dwconv: stride must be 1 or 2, got ${s}`);
  const gh = convGeometry(H, k, s, shape.padding);
  const gw = convGeometry(W, k, s, shape.padding);
  const C4 = Math.ceil(C / 4);
  const gpu = !target.isFallback;
  const TW = !gpu && s === 1 && gw.out > 4 ? 8 : 4;
  const strips = Math.ceil(gw.out / TW);
  const rowInvocations = N * strips * C4;
  const rows = Math.max(1, Math.min(gh.out, gpu ? gh.out : MAX_ROWS, Math.floor((rowInvocations * gh.out) / (gpu ? GPU_INVOCATIONS : MIN_INVOCATIONS))));
  const rowBlocks = Math.ceil(gh.out / rows);
  const uniforms = {
    H, W, C4, Ho: gh.out, Wo: gw.out, padTop: gh.padBefore, padLeft: gw.padBefore,
    strips, rows, rowBlocks, count: rowInvocations * rowBlocks,
  };
  // Both kernels split the work (and so the squeeze partial slots) the same way; the compact one takes the
  // specialisation as uniforms.
  const quick = target.tier === 'quick';
  const kernel = quick ? 'dwconv_compact' : 'dwconv';
  const wg = gpu ? GPU_WG : WG;
  const overrides: Overrides = quick ? { WG: wg } : { K: k, S: s, TW, WG: wg, SQUEEZE: shape.squeeze ? 1 : 0 };
  const all: DwconvUniforms = quick ? { ...uniforms, K: k, S: s, TW, squeeze: shape.squeeze ? 1 : 0 } : uniforms;
  return {
    kernel,
    overrides,
    uniforms: all,
    workgroups: kernelEntry(kernel).workgroups({ count: all.count, ...overrides }),
    partSlots: shape.squeeze ? rowBlocks * strips : 0,
  };
}

/**
 * torchvision depthwise weight [C, 1, k, k] and bias [C] (BatchNorm already folded) → w [k, k, C4] vec4
 * and b [C4] vec4, both zero in the padding channels so those outputs stay silu(0) = 0.
 */
export function packDwconv(weight: Float32Array, bias: Float32Array, C: number, k: number): { w: Float32Array; b: Float32Array } {
  if (weight.length !== C * k * k || bias.length !== C) {
    throw new EffnetError('WEIGHTS', `dwconv: expected weight [${C},1,${k},${k}] and bias [${C}], got ${weight.length} and ${bias.length} values`);
  }
  const Cp = Math.ceil(C / 4) * 4;
  const w = new Float32Array(k * k * Cp);
  for (let c = 0; c < C; c++) for (let t = 0; t < k * k; t++) w[t * Cp + c] = weight[c * k * k + t]!;
  const b = new Float32Array(Cp);
  b.set(bias);
  return { w, b };
}
