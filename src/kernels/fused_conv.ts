/**
 * Fused-MBConv k×k conv + bias + SiLU (+ residual) as an implicit GEMM (kernels/fused_conv.wgsl): weight
 * packing from torchvision layouts and the launch planner.
 */
import { EffnetError } from '../errors.js';
import { convGeometry } from '../model/geometry.js';
import type { ArchSpec } from '../model/tables.js';
import { FALLBACK_TARGET, type Launch, type LaunchTarget } from './launch.js';
import { gemmTile } from './gemm_tiles.js';
import { kernelEntry } from './registry.js';
import { convTile } from './tiles.js';

export interface FusedConvShape {
  N: number;
  inC: number;
  outC: number;
  /** Input size. */
  H: number;
  W: number;
  k: number;
  s: number;
  padding: ArchSpec['padding'];
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
    const overrides = { ...gemmTile(N * gh.out * gw.out, Cout4), ...fusions };
    return { kernel: 'fused_conv_tiled', overrides, uniforms, workgroups: kernelEntry('fused_conv_tiled').workgroups({ ...uniforms, ...overrides }) } satisfies Launch;
  }
  const overrides = { ...convTile(Cout4, gw.out, target), WG, ...fusions };
  return { kernel: 'fused_conv', overrides, uniforms, workgroups: kernelEntry('fused_conv').workgroups({ ...uniforms, ...overrides }) } satisfies Launch;
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
