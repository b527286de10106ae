/**
 * Register tiles shared by the kernels that include kernels/lib/conv_tile.wgsl (stem, fused_conv): the
 * planners' rule, the tuner's search, and the probe sizes that exercise a tile's ragged edges.
 */
import { paddingOf } from './cases.js';
import { convGeometry, inputFor } from './geometry.js';
import type { Launch, LaunchTarget } from './launch.js';
import type { Overrides } from './library.js';
import { PROBE_IMAGES } from './op.js';

/**
 * Register tile (TM pixels × TN output vec4s) per device class and shape. On SwiftShader (measured on 2 cores
 * over the V2-S and fused-B0 shapes) bigger tiles win up to 16 × 4 (4.2 GFLOP/s against 3.4 at 8 × 4 and 2.4
 * at 4 × 4), since every buffer load is a per-lane gather there and the tile divides the loads per
 * multiply-add; TM is a divisor of Wo near 16 where one exists so no pixel of a row tile is wasted. On a
 * hardware GPU 256 accumulator floats would spill registers and starve occupancy, so it gets 4 × 2.
 * TN divides Cout4 where possible (3 for the 24-channel V2-S stage 1); every choice keeps
 * ceil(Cout4/TN)·TN ≤ CoutP4, the padded width the weights are packed to.
 */
export function convTile(cout4: number, wo: number, target: LaunchTarget): { TM: number; TN: number } {
  // Compile time grows with the unrolled TM × TN tile faster than linearly (16 × 4 took ~10× as long as 4 × 1).
  if (target.tier === 'quick') return { TM: Math.min(4, wo), TN: 1 };
  if (!target.isFallback) return { TM: Math.min(4, wo), TN: cout4 % 2 === 0 ? 2 : 1 };
  const TN = [4, 3, 2].find((t) => cout4 % t === 0) ?? Math.min(4, cout4);
  if (wo <= 16) return { TM: wo, TN };
  const TM = [16, 15, 14, 13, 12].find((t) => wo % t === 0) ?? 16;
  return { TM, TN };
}

/** TM × TN register tiles of the direct convs (lib/conv_tile.wgsl: TM ≤ 16, TN ≤ 4 within the padded width). */
export function convSearch(l: Launch): Overrides[] {
  const Wo = l.uniforms.Wo as number;
  const Cout4 = l.uniforms.Cout4 as number;
  const tms = [...new Set([4, 8, 12, 16, Math.min(Wo, 16)].filter((t) => t <= Math.min(16, Wo)))];
  const tns = [1, 2, 4, ...(Cout4 % 3 === 0 ? [3] : [])];
  return tms.flatMap((TM) => tns.map((TN) => ({ TM, TN, WG: l.overrides.WG ?? 64 })));
}

/**
 * The sizes of a probe for a k×k stride-s conv launch (KernelOp.probe): a row of TM + 1 pixels (one full register
 * tile and a ragged one) and TN groups with a ragged last one, or for a workgroup GEMM tile one pixel past a tile
 * spread over both images and one output vec4 past a tile; the launch's padding rule.
 */
/**
 * A conv probe's sizes (convProbeSizes) at stride 2 with an even input under TensorFlow SAME padding, the same
 * output size: SAME then pads one pixel more after than before, which a kernel hard-coding K/2 gets wrong.
 */
export function sameAtStride2<T extends { H: number; W: number; Ho: number; Wo: number; padTop: number; padLeft: number }>(sizes: T, k: number): T {
  const [H, W] = [2 * sizes.Ho, 2 * sizes.Wo];
  return { ...sizes, H, W, padTop: convGeometry(H, k, 2, 'same').padBefore, padLeft: convGeometry(W, k, 2, 'same').padBefore };
}

/** Why a sameAtStride2 launch is there, for the report. */
export const sameWhy = (s: { padTop: number }) => `SAME padding (${s.padTop} before, 1 more after) at stride 2, ${PROBE_IMAGES} images`;

export function convProbeSizes(l: Launch, k: number, s: number, gemm: boolean) {
  const u = l.uniforms as Record<string, number>;
  const o = l.overrides;
  const padding = paddingOf(u.H!, k, s, u.Ho!, u.padTop!);
  let Wo: number;
  let Ho: number;
  let Cout4: number;
  if (gemm) {
    Wo = Math.min(u.Wo!, 3);
    Ho = Math.ceil((o.WG_M! * o.TM! + 1) / (PROBE_IMAGES * Wo));
    Cout4 = Math.min(u.Cout4!, o.WG_N! * o.TN! + 1);
  } else {
    Wo = Math.min(u.Wo!, o.TM! + 1);
    Ho = 2;
    // Within what the tile's `Requires:` allows (the launch's own Cout4 does).
    const fits = (c: number) => Math.ceil(c / o.TN!) * o.TN! <= Math.ceil(c / 4) * 4;
    Cout4 = [Math.min(u.Cout4!, 2 * o.TN! + 1), u.Cout4!].find(fits)!;
  }
  const H = inputFor(Ho, k, s, padding);
  const W = inputFor(Wo, k, s, padding);
  const gh = convGeometry(H, k, s, padding);
  const gw = convGeometry(W, k, s, padding);
  return { N: PROBE_IMAGES, H, W, Ho: gh.out, Wo: gw.out, Cout4, padTop: gh.padBefore, padLeft: gw.padBefore };
}
