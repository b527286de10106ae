/**
 * Depthwise k×k conv + bias + SiLU (kernels/dwconv.wgsl), with the SE squeeze partial sums fused in:
 * weight packing from torchvision layouts and the launch planner.
 */
import { EffnetError } from '../errors.js';
import { convGeometry, inputFor, type Padding } from './geometry.js';
import type { Overrides } from './library.js';
import { FALLBACK_TARGET, type Launch, type LaunchTarget, launchOf, WIDE_LAUNCH_WORKGROUPS } from './launch.js';
import { asRead, num, paddingOf, random, type CaseOutput } from './cases.js';
import { PROBE_IMAGES, type KernelOp } from './op.js';
import { dwconvRef } from '../reference/dwconv.js';
import { kernelEntry } from './registry.js';
import { seSqueezeSteps } from './se.js';
import { channelMeans } from '../reference/se.js';
import { TOL } from '../reference/tolerances.js';

export interface DwconvShape {
  N: number;
  C: number;
  /** Input size. */
  H: number;
  W: number;
  k: number;
  s: number;
  padding: Padding;
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
 * at least MIN_INVOCATIONS invocations (8 workgroups) to share between threads (64 rows measured no faster).
 * Strips are 4 pixels, the kernel's widest: with ceil(K/S) output rows in flight (row reuse) 8-pixel strips no
 * longer paid off (B0@224, depthwise layers summed: 87 ms at 4 against 93 ms at 8 and 88 ms at 2).
 */
const MAX_ROWS = 16;
const MIN_INVOCATIONS = 256;
// Small workgroups: more of them to balance between SwiftShader's threads when a layer has few invocations.
const WG = 32;
/**
 * A hardware GPU: strips of 4 pixels, or 2 where the ceil(K/S) output rows in flight would otherwise hold more
 * than GPU_ACCUMULATORS floats (K 5 and 7 at stride 1), so the K·K weights and every accumulator stay in
 * registers; as many invocations as the layer allows up to GPU_INVOCATIONS — beyond that an invocation takes
 * more rows, which reuses its weights and input rows and writes fewer squeeze partial slots for se_excite to
 * sum; workgroups of 64, or 32 or 16 where a late layer would otherwise have fewer than WIDE_LAUNCH_WORKGROUPS
 * (a batch-1 launch that leaves SMs idle is bound by its serial chain, not by lanes left idle in a warp).
 */
const GPU_ACCUMULATORS = 64;
const GPU_WGS = [64, 32, 16];
const GPU_INVOCATIONS = 16384;

/**
 * Output rows per invocation on a GPU. Without a squeeze: as many invocations as the layer allows up to
 * GPU_INVOCATIONS, more rows beyond that. With one, fewer rows mean more squeeze slots for se_excite's single
 * workgroup to sum, so the rows are those that make the two chains together shortest (this kernel's Serial line
 * plus se_excite's sum over the slots), among those that still leave WIDE_LAUNCH_WORKGROUPS workgroups of the
 * smallest size; ties keep fewer rows (more invocations).
 */
function gpuRows(Ho: number, rowInvocations: number, k: number, s: number, squeezeC4: number, strips: number): number {
  const spread = Math.max(1, Math.min(Ho, Math.floor((rowInvocations * Ho) / GPU_INVOCATIONS)));
  if (!squeezeC4) return spread;
  const chain = (rows: number) =>
    kernelEntry('dwconv').serialSteps({ rows, K: k, S: s }) + seSqueezeSteps(squeezeC4, Math.ceil(Ho / rows) * strips);
  let best = spread;
  for (let rows = spread + 1; rows <= Ho; rows++) {
    if (Math.ceil((rowInvocations * Math.ceil(Ho / rows)) / GPU_WGS.at(-1)!) < WIDE_LAUNCH_WORKGROUPS) break;
    if (chain(rows) < chain(best)) best = rows;
  }
  return best;
}

/** Channels of an edge launch: three vec4s, so a channel index off by one lands in real data. */
const EDGE_CHANNELS = 12;

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
  const TW = gpu && 4 * 4 * Math.ceil(k / s) > GPU_ACCUMULATORS ? 2 : 4;
  const strips = Math.ceil(gw.out / TW);
  const rowInvocations = N * strips * C4;
  const rows = gpu
    ? gpuRows(gh.out, rowInvocations, k, s, shape.squeeze ? C4 : 0, strips)
    : Math.max(1, Math.min(gh.out, MAX_ROWS, Math.floor((rowInvocations * gh.out) / MIN_INVOCATIONS)));
  const rowBlocks = Math.ceil(gh.out / rows);
  const uniforms = {
    H, W, C4, Ho: gh.out, Wo: gw.out, padTop: gh.padBefore, padLeft: gw.padBefore,
    strips, rows, rowBlocks, count: rowInvocations * rowBlocks,
  };
  // Both kernels split the work (and so the squeeze partial slots) the same way; the compact one takes the
  // specialisation as uniforms.
  const quick = target.tier === 'quick';
  const kernel = quick ? 'dwconv_compact' : 'dwconv';
  const wg = gpu ? (GPU_WGS.find((g) => Math.ceil(uniforms.count / g) >= WIDE_LAUNCH_WORKGROUPS) ?? GPU_WGS.at(-1)!) : WG;
  const overrides: Overrides = quick ? { WG: wg } : { K: k, S: s, TW, WG: wg, SQUEEZE: shape.squeeze ? 1 : 0 };
  const all: DwconvUniforms = quick ? { ...uniforms, K: k, S: s, TW, squeeze: shape.squeeze ? 1 : 0 } : uniforms;
  return { ...launchOf(kernel, all, overrides), partSlots: shape.squeeze ? rowBlocks * strips : 0 };
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

/** The depthwise op: `dwconv`, and the quick tier's `dwconv_compact` (the same work split, its specialisation as uniforms). */
export const dwconvOp: KernelOp = {
  name: 'dwconv',
  kernels: ['dwconv'],
  otherInterface: ['dwconv_compact'],
  benchable: true,
  case(kernel, u, o, seed) {
    const spec = kernel === 'dwconv_compact' ? { K: num(u, 'K'), S: num(u, 'S'), SQUEEZE: num(u, 'squeeze') } : o;
    const [H, W, C4, Ho, Wo] = ['H', 'W', 'C4', 'Ho', 'Wo'].map((k) => num(u, k)) as [number, number, number, number, number];
    const slots = num(u, 'rowBlocks') * num(u, 'strips');
    const N = num(u, 'count') / (slots * C4);
    const [C, k, s] = [4 * C4, spec.K!, spec.S!];
    const squeeze = spec.SQUEEZE === 1;
    const x = random(N * H * W * C, seed, -2, 2);
    const weight = random(C * k * k, seed + 1, -1 / k, 1 / k);
    const bias = random(C, seed + 2, -0.5, 0.5);
    const padding = paddingOf(H, k, s, Ho, num(u, 'padTop'));
    const ref = dwconvRef(x, N, H, W, C, weight, bias, k, s, padding).y;
    const outputs: CaseOutput[] = [{ label: 'y', binding: 'y', got: asRead(), want: ref, tol: TOL.conv }];
    if (squeeze) {
      // se_excite adds the P slots of each (image, channel) up: that sum is what the squeeze must get right.
      const sums = channelMeans(ref, N, Ho * Wo, C).map((m) => m * Ho * Wo);
      const got = (r: Float32Array) => {
        const out = new Float64Array(N * C);
        for (let n = 0; n < N; n++) for (let p = 0; p < slots; p++) for (let c = 0; c < C; c++) out[n * C + c]! += r[(n * slots + p) * C + c]!;
        return out;
      };
      outputs.push({ label: 'part (squeeze sums)', binding: 'part', got, want: sums, tol: TOL.reduction });
    }
    const { w, b } = packDwconv(weight, bias, C, k);
    return { buffers: { x, w, b, y: N * Ho * Wo * C * 4, part: squeeze ? N * slots * C * 4 : 16 }, outputs };
  },
  probe(l) {
    const u = l.uniforms as Record<string, number>;
    const o = l.overrides;
    const compact = l.kernel === 'dwconv_compact';
    const [k, s, TW] = compact ? [u.K!, u.S!, u.TW!] : [o.K!, o.S!, o.TW!];
    const padding = paddingOf(u.H!, k, s, u.Ho!, u.padTop!);
    const rows = Math.min(u.rows!, 3);
    // A row block cut short and a ragged last strip, where the launch's own map is that large.
    const H = inputFor(Math.min(u.Ho!, 2 * rows + 1), k, s, padding);
    const W = inputFor(Math.min(u.Wo!, 2 * TW + 1), k, s, padding);
    const gh = convGeometry(H, k, s, padding);
    const gw = convGeometry(W, k, s, padding);
    const C4 = Math.min(u.C4!, 3);
    const strips = Math.ceil(gw.out / TW);
    const rowBlocks = Math.ceil(gh.out / rows);
    return {
      H, W, C4, Ho: gh.out, Wo: gw.out, padTop: gh.padBefore, padLeft: gw.padBefore,
      strips, rows, rowBlocks, count: PROBE_IMAGES * rowBlocks * strips * C4,
      ...(compact ? { K: k, S: s, TW, squeeze: u.squeeze! } : {}),
    };
  },
  // The planner's own launches at TF SAME padding for the pipeline's K, S and TW: output widths that leave the last
  // strip short (2·TW+1, TW+1, then narrower than one strip), the first the planner tiles with this TW. At stride 2
  // the input is even, so SAME pads one pixel more after than before.
  edges(l) {
    if (l.kernel !== 'dwconv') return [];
    const o = l.overrides;
    const [k, s, tw] = [o.K!, o.S!, o.TW!];
    for (const wo of [2 * tw + 1, tw + 1, tw - 1, 3]) {
      if (wo < 1 || wo % tw === 0) continue;
      for (const isFallback of [true, false]) {
        const e = dwconvLaunch({ N: PROBE_IMAGES, C: EDGE_CHANNELS, H: 5 * s, W: wo * s, k, s, padding: 'same', squeeze: o.SQUEEZE === 1 }, { isFallback, tier: 'tuned' });
        if (e.overrides.TW !== tw) continue;
        const u = e.uniforms;
        const pads = s === 2 ? `SAME padding (${u.padTop} before, 1 more after) at stride 2` : 'SAME padding';
        return [{ uniforms: u, why: `${pads}, ${u.Wo} output columns (last of ${u.strips} strips short), ${PROBE_IMAGES} images` }];
      }
    }
    return [];
  },
  // The compact kernel splits the work (and the squeeze's partial slots) exactly as dwconv does.
  plain: (l) =>
    l.kernel === 'dwconv'
      ? launchOf('dwconv_compact', { ...l.uniforms, K: l.overrides.K!, S: l.overrides.S!, TW: l.overrides.TW!, squeeze: l.overrides.SQUEEZE! }, { WG: 64 })
      : l,
  candidates: () => [16, 32, 64, 128].map((WG) => ({ WG })),
};
