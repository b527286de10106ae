/**
 * Workgroup tiles for the GEMM-shaped kernels on a hardware GPU (kernels/lib/gemm_tiled.wgsl, used by
 * pointwise_tiled and fused_conv_tiled). A tile is WG_M × WG_N invocations, each holding TM × TN vec4
 * accumulators, walking K in stages of KT vec4s through workgroup memory.
 *
 * The rule, for GPUs we have never seen (on-device tuning refines it): workgroups of 64–256 invocations,
 * at most 64 f32 accumulators per invocation (TM·TN ≤ 4 vec4·4 → no register spills on any current GPU),
 * and — since a large GPU wants tens of thousands of invocations in flight — the largest tile (most reuse of
 * each loaded value) that still yields MIN_WORKGROUPS workgroups; layers too small for that (the 7×7 and
 * 14×14 stages at batch 1) take the tile that yields the most. Tiles that pad a dimension by more than a
 * quarter waste that work and lose to ones that fit.
 */
import { EffnetError } from '../errors.js';

export interface GemmTile {
  WG_M: number;
  WG_N: number;
  TM: number;
  TN: number;
  KT: number;
}

/** kernels/lib/gemm_tiled.wgsl: workgroup arrays of BM·KT vec4 and KT·BN mat4x4. */
const MAX_A = 256;
const MAX_B = 128;
/** Enough workgroups to occupy every multiprocessor of a large GPU (an H100 has 132) a few times over. */
const MIN_WORKGROUPS = 256;
/** Fraction of a tile's outputs that must be real (not padding past M or N4). */
const MIN_FILL = 0.75;

const LAYOUTS: readonly [number, number][] = [
  [16, 4], [8, 8], [4, 16], [32, 4], [16, 8], [8, 16], [64, 4], [32, 8], [16, 16],
];
const REGS = [1, 2, 4];

/** Every tile within the kernel's limits, for the planner and for on-device tuning. */
export function gemmCandidates(): GemmTile[] {
  const out: GemmTile[] = [];
  for (const [WG_M, WG_N] of LAYOUTS) {
    for (const TM of REGS) {
      for (const TN of REGS) {
        const BM = WG_M * TM;
        const BN = WG_N * TN;
        // The deepest K stage both workgroup arrays allow, at most 8 (beyond that a stage's loads no longer
        // amortise the barrier any better).
        const KT = [8, 4, 2, 1].find((k) => BM * k <= MAX_A && k * BN <= MAX_B);
        if (KT !== undefined) out.push({ WG_M, WG_N, TM, TN, KT });
      }
    }
  }
  return out;
}

const CANDIDATES = gemmCandidates();

export const gemmWorkgroups = (t: GemmTile, M: number, N4: number): number =>
  Math.ceil(M / (t.WG_M * t.TM)) * Math.ceil(N4 / (t.WG_N * t.TN));

/** The tile for an M × N4 (vec4 columns) GEMM on a hardware GPU, by the rule in the header. */
export function gemmTile(M: number, N4: number): GemmTile {
  if (!(M >= 1 && N4 >= 1)) throw new EffnetError('MODEL_SPEC', `GEMM tile: M and N4 must be positive, got ${M} × ${N4}`);
  const fill = (t: GemmTile) => {
    const BM = t.WG_M * t.TM;
    const BN = t.WG_N * t.TN;
    return (M * N4) / (Math.ceil(M / BM) * BM * Math.ceil(N4 / BN) * BN);
  };
  const size = (t: GemmTile) => t.WG_M * t.TM * t.WG_N * t.TN;
  const fitting = CANDIDATES.filter((t) => fill(t) >= MIN_FILL);
  const pool = fitting.length ? fitting : CANDIDATES;
  const busy = pool.filter((t) => gemmWorkgroups(t, M, N4) >= MIN_WORKGROUPS);
  if (busy.length) {
    // Largest tile first; among equals the fuller one, then fewer invocations per workgroup.
    return busy.reduce((a, b) => (size(b) > size(a) || (size(b) === size(a) && fill(b) > fill(a)) ? b : a));
  }
  // Too small to fill the GPU: as many workgroups as possible, each of the smallest workgroup size.
  return pool.reduce((a, b) => {
    const wa = gemmWorkgroups(a, M, N4);
    const wb = gemmWorkgroups(b, M, N4);
    return wb > wa || (wb === wa && b.WG_M * b.WG_N < a.WG_M * a.WG_N) ? b : a;
  });
}
