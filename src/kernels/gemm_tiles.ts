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
import { tileSpace } from './tile-space.js';

export interface GemmTile {
  WG_M: number;
  WG_N: number;
  TM: number;
  TN: number;
  KT: number;
}

/** Enough workgroups to occupy every multiprocessor of a large GPU (an H100 has 132) a few times over. */
const MIN_WORKGROUPS = 256;
/** Fraction of a tile's outputs that must be real (not padding past M or N4). */
const MIN_FILL = 0.75;

const LAYOUTS: readonly [number, number][] = [
  [16, 4], [8, 8], [4, 16], [32, 4], [16, 8], [8, 16], [64, 4], [32, 8], [16, 16],
];
const REGS = [1, 2, 4];

/** Whether kernels/lib/gemm_tiled.wgsl's `Requires:` lines (its workgroup-memory bounds) allow `t`. */
const fits = (t: GemmTile) => tileSpace('pointwise_tiled')!.requires.every((r) => r.evaluate({ ...t }) !== 0);

let candidates: GemmTile[] | undefined;

/** Every tile within the kernel's limits, for the planner and for on-device tuning. */
export function gemmCandidates(): GemmTile[] {
  if (candidates) return [...candidates];
  const out: GemmTile[] = [];
  for (const [WG_M, WG_N] of LAYOUTS) {
    for (const TM of REGS) {
      for (const TN of REGS) {
        // The deepest K stage both workgroup arrays allow, at most 8 (beyond that a stage's loads no longer
        // amortise the barrier any better).
        const KT = [8, 4, 2, 1].find((k) => fits({ WG_M, WG_N, TM, TN, KT: k }));
        if (KT !== undefined) out.push({ WG_M, WG_N, TM, TN, KT });
      }
    }
  }
  candidates = out;
  return [...out];
}

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
  const all = gemmCandidates();
  const fitting = all.filter((t) => fill(t) >= MIN_FILL);
  const pool = fitting.length ? fitting : all;
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

/** The GEMM tiles worth timing for an M × N4 GEMM: those that pad little, spread from the largest to the smallest. */
export function gemmSearch(M: number, N4: number, max: number): GemmTile[] {
  const fill = (t: GemmTile) => (M * N4) / (gemmWorkgroups(t, M, N4) * t.WG_M * t.TM * t.WG_N * t.TN);
  const ok = gemmCandidates().filter((t) => fill(t) >= 0.5);
  const bySize = (ok.length ? ok : gemmCandidates()).sort((a, b) => b.WG_M * b.TM * b.WG_N * b.TN - a.WG_M * a.TM * a.WG_N * a.TN);
  if (bySize.length <= max) return bySize;
  return Array.from({ length: max }, (_, i) => bySize[Math.round((i * (bySize.length - 1)) / (max - 1))]!);
}
