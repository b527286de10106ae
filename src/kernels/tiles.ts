/** Register tiles shared by the kernels that include kernels/lib/conv_tile.wgsl (stem, fused_conv). */
import type { LaunchTarget } from './launch.js';

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
