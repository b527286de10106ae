/**
 * The roofline's two probes (kernels/peak_fma.wgsl, kernels/peak_copy.wgsl): launch planners, the work each
 * does, and their float64 references. No schedule runs them; kernel-bench measures an adapter's ceilings with
 * them (src/kernel-bench/ceilings.ts) and their own kernel cases check them.
 */
import { launchOf, type Launch } from './launch.js';

/** The FMA chains' multiplier and addend: |m| < 1, so every chain converges (to c / (1 − m) = 1) and stays bounded. */
export const PEAK_M = 0.9375;
export const PEAK_C = 0.0625;
/** FLOPs one invocation of peak_fma does per round: 8 vec4 chains × 4 lanes × (multiply + add). */
const FLOPS_PER_ROUND = 8 * 4 * 2;

export function peakFmaLaunch(count: number, iters: number): Launch & { flops: number } {
  return { ...launchOf('peak_fma', { count, iters, m: PEAK_M, c: PEAK_C }, { WG: 64 }), flops: count * iters * FLOPS_PER_ROUND };
}

/** Bytes moved: every vec4 read once and written once. */
export function peakCopyLaunch(count: number): Launch & { bytes: number } {
  return { ...launchOf('peak_copy', { count }, { WG: 64, PER: 4 }), bytes: count * 16 * 2 };
}

/** peak_fma's result for input vec4s `x` (lane by lane), in float64. */
export function peakFmaRef(x: ArrayLike<number>, iters: number, m = PEAK_M, c = PEAK_C): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let sum = 0;
    for (let j = 0; j < 8; j++) {
      let a = x[i]! + j * 0.125;
      for (let r = 0; r < iters; r++) a = a * m + c;
      sum += a;
    }
    y[i] = sum;
  }
  return y;
}
