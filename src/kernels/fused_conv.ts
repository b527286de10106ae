/**
 * Fused-MBConv k×k conv + bias + SiLU (+ residual) as an implicit GEMM (kernels/fused_conv.wgsl): weight
 * packing from torchvision layouts and the launch planner.
 */
import { EffnetError } from '../errors.js';
import { convGeometry, type Padding } from './geometry.js';
import { FALLBACK_TARGET, type Launch, type LaunchTarget, launchOf } from './launch.js';
import { gemmSearch, gemmTile } from './gemm_tiles.js';
import { convProbeSizes, convSearch, convTile, sameAtStride2, sameWhy } from './tiles.js';
import { asRead, num, random } from './cases.js';
import type { KernelOp } from './op.js';
import { convRef } from '../reference/conv.js';
import { TOL } from '../reference/tolerances.js';

export interface FusedConvShape {
  N: number;
  inC: number;
  outC: number;
  /** Input size. */
  H: number;
  W: number;
  k: number;
  s: number;
  padding: Padding;
  act: 'silu' | 'none';
  /** Add the block input (same shape as the output) after the activation. */
  residual: boolean;
}

const WG = 64;

/** On SwiftShader `fused_conv` with convTile's register tile; on a hardware GPU `fused_conv_tiled`, a workgroup-memory implicit GEMM. */
export function fusedConvLaunch(shape: FusedConvShape, target: LaunchTarget = FALLBACK_TARGET) {
  const { N, inC, outC, H, W, k, s } = shape;
  if (!(k % 2 === 1 && k >= 1 && k <= 7)) throw new EffnetError('MODEL_SPEC', `fused_conv: kernel size must be odd and ≤ 7, got ${k}`);
  if (s !== 1 && s !== 2) throw new EffnetError('MODEL_SPEC', `fused_conv: stride must be 1 or 2, got ${s}`);
  const gh = convGeometry(H, k, s, shape.padding);
  const gw = convGeometry(W, k, s, shape.padding);
  if (shape.residual && (s !== 1 || inC !== outC || gh.out !== H || gw.out !== W)) {
    throw new EffnetError('MODEL_SPEC', `fused_conv: a residual needs stride 1 and inC = outC, got ${inC}→${outC} stride ${s}`);
  }
  const Cout4 = Math.ceil(outC / 4);
  const uniforms = {
    N, H, W, Cin4: Math.ceil(inC / 4), Ho: gh.out, Wo: gw.out, Cout4,
    K: k, stride: s, padTop: gh.padBefore, padLeft: gw.padBefore,
  };
  const fusions = { ACT: shape.act === 'silu' ? 1 : 0, HAS_RES: shape.residual ? 1 : 0 };
  if (!target.isFallback) {
    const overrides = { ...gemmTile(N * gh.out * gw.out, Cout4, k * k * Math.ceil(inC / 4)), ...fusions };
    return launchOf('fused_conv_tiled', uniforms, overrides);
  }
  const overrides = { ...convTile(Cout4, gw.out, target), WG, ...fusions };
  return launchOf('fused_conv', uniforms, overrides);
}

/**
 * torchvision conv weight [outC, inC, k, k] and bias [outC] (BatchNorm already folded) → w as
 * [k][k][Cin4][CoutP4] 4×4 column-major matrices (column j = input channel 4·ci4 + j, row r = output
 * channel 4·co4 + r; CoutP4 = Cout4 rounded up to 4) and b [CoutP4] vec4, zero outside the real channels.
 */
export function packFusedConv(
  weight: Float32Array, bias: Float32Array, inC: number, outC: number, k: number,
): { w: Float32Array; b: Float32Array } {
  if (weight.length !== outC * inC * k * k || bias.length !== outC) {
    throw new EffnetError('WEIGHTS', `fused_conv: expected weight [${outC},${inC},${k},${k}] and bias [${outC}], got ${weight.length} and ${bias.length} values`);
  }
  const cin4 = Math.ceil(inC / 4);
  const coutP4 = Math.ceil(outC / 16) * 4;
  const w = new Float32Array(k * k * cin4 * coutP4 * 16);
  for (let co = 0; co < outC; co++) {
    for (let ci = 0; ci < inC; ci++) {
      for (let t = 0; t < k * k; t++) {
        const mat = (t * cin4 + (ci >> 2)) * coutP4 + (co >> 2);
        w[mat * 16 + (ci & 3) * 4 + (co & 3)] = weight[(co * inC + ci) * k * k + t]!;
      }
    }
  }
  const b = new Float32Array(coutP4 * 4);
  b.set(bias);
  return { w, b };
}

/** The Fused-MBConv conv op: `fused_conv` (register tiles), and `fused_conv_tiled` (a GPU's workgroup-memory GEMM). */
export const fusedConvOp: KernelOp = {
  name: 'fused_conv',
  kernels: ['fused_conv', 'fused_conv_tiled'],
  benchable: true,
  case(_kernel, u, o, seed) {
    const [N, H, W, Cin4, Ho, Wo, Cout4, k, s] = ['N', 'H', 'W', 'Cin4', 'Ho', 'Wo', 'Cout4', 'K', 'stride'].map((f) => num(u, f)) as [number, number, number, number, number, number, number, number, number];
    const [inC, outC, padTop, padLeft] = [4 * Cin4, 4 * Cout4, num(u, 'padTop'), num(u, 'padLeft')];
    const x = random(N * H * W * inC, seed, -2, 2);
    const weight = random(outC * inC * k * k, seed + 1, -1 / (k * Math.sqrt(inC)), 1 / (k * Math.sqrt(inC)));
    const bias = random(outC, seed + 2, -0.5, 0.5);
    const res = o.HAS_RES ? random(N * Ho * Wo * outC, seed + 3, -1, 1) : undefined;
    const spec = {
      N, H, W, inC, outC, k, stride: s, padTop, padLeft,
      padBottom: (Ho - 1) * s + k - H - padTop, padRight: (Wo - 1) * s + k - W - padLeft, act: (o.ACT ?? 1) === 1 ? ('silu' as const) : ('none' as const),
    };
    const want = convRef(spec, x, weight, bias, res).y;
    const { w, b } = packFusedConv(weight, bias, inC, outC, k);
    return { buffers: { x, w, b, res: res ?? 16, y: N * Ho * Wo * outC * 4 }, outputs: [{ label: 'y', binding: 'y', got: asRead(), want, tol: TOL.conv }] };
  },
  probe: (l) => fusedConvProbe(l),
  edges(l) {
    if (l.uniforms.stride !== 2) return [];
    const uniforms = sameAtStride2(fusedConvProbe(l), l.uniforms.K as number);
    return [{ uniforms, why: sameWhy(uniforms) }];
  },
  plain: (l) => launchOf('fused_conv', l.uniforms, { TM: 1, TN: 1, WG: 64, ACT: l.overrides.ACT!, HAS_RES: l.overrides.HAS_RES! }),
  candidates(l, max) {
    const u = l.uniforms as Record<string, number>;
    return l.kernel === 'fused_conv_tiled' ? gemmSearch(u.N! * u.Ho! * u.Wo!, u.Cout4!, u.K! * u.K! * u.Cin4!, max).map((t) => ({ ...t })) : convSearch(l);
  },
};

/** A small launch of `l`'s pipeline: ragged tiles over PROBE_IMAGES images, a few input vec4s, `l`'s padding rule. */
function fusedConvProbe(l: Launch) {
  const u = l.uniforms as Record<string, number>;
  return { ...convProbeSizes(l, u.K!, u.stride!, l.kernel === 'fused_conv_tiled'), Cin4: Math.min(u.Cin4!, 3), K: u.K!, stride: u.stride! };
}
