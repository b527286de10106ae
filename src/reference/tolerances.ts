/**
 * Every numerical tolerance the tests use, each with the reason it has the value it has.
 * A comparison passes where |got - want| <= abs + rel * |want| holds element-wise.
 */
export interface Tolerance {
  abs: number;
  rel: number;
  why: string;
}

export const TOL = {
  exact: { abs: 0, rel: 0, why: 'pure data movement or a single IEEE-exact operation (add of two f32): the GPU must reproduce f32 bit for bit' },
  elementwise: {
    abs: 1e-6,
    rel: 2e-6,
    why: 'one transcendental (exp) per element: WGSL allows exp a few ULP of error, and the reference is float64',
  },
  /**
   * f32 accumulation of K products against a float64 reference: the error grows like sqrt(K)·eps·Σ|a·b|,
   * so for K ≤ 9·1536 (the deepest fused conv in V2) a relative 1e-5 of the magnitude plus a small
   * absolute floor for outputs that cancel to near zero covers it with margin.
   */
  /**
   * Logits of a network whose weights were stored as F16 (`export-weights --dtype f16`) against the same network
   * in F32: each weight rounded once to 11 significant bits (relative error ≤ 2^-11 ≈ 4.9e-4), the errors of
   * thousands of products per output mostly cancelling: 4.2e-5 at most on the random-weight B0 fixture (logits of
   * order 0.1); abs 5× that, rel 4× the rounding of one weight.
   */
  f16Weights: { abs: 2e-4, rel: 2e-3, why: 'weights rounded to IEEE half (≤ 4.9e-4 relative each) once, compared with the f32 network' },
  conv: { abs: 2e-5, rel: 1e-5, why: 'f32 dot products of up to ~14k terms (plus exp in SiLU) vs a float64 reference' },
  reduction: {
    abs: 1e-5,
    rel: 1e-5,
    why: 'mean over up to 192×192 positions and two small FCs with sigmoid: f32 summation order differs from float64',
  },
  /**
   * The same launch on two tiles (the tuner's output check): a tile changes how the work is cut up, not the order
   * of any output's sum, so two correct tiles agree to a few ulp (compilers may contract a·b + c into an FMA
   * differently per specialisation); each is within TOL.conv of the float64 value, so between them twice that.
   * A wrong tile (a row of another image, an unwritten slot, a miscompile) is off by O(1).
   */
  retile: { abs: 4e-5, rel: 2e-5, why: 'two f32 results of the same sums in the same order, each within TOL.conv of float64' },
  /** kernels/peak_fma.wgsl, the roofline's probe: eight chains summed. */
  chain: {
    abs: 1e-5,
    rel: 1e-5,
    why: 'a contracting f32 recurrence a ← a·m + c (|m| = 15/16): each step\'s rounding is damped by m, so a chain stays within ~eps/(1−m) ≈ 2e-6 of float64, and eight of them summed within 2e-5',
  },
  resample: {
    abs: 5e-4,
    rel: 0,
    why: 'image resampling in f32: source positions x0 + (o + ½)·step round by ~1e-4 px at ~1000 px, and on noise images (neighbours up to 255 apart) that moves a value by ~0.03 grey levels, ≈ 5e-4 after ImageNet 1/std ≈ 4.4; 30× below one grey level (measured ≤ 1.1e-4)',
  },
} satisfies Record<string, Tolerance>;
