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
 *
 * Layers still too small to fill a big GPU (under MIN_WORKGROUPS, or SPLIT_BELOW_INVOCATIONS invocations: the late
 * 1×1 projections, the head and the classifier at batch 1 and 2) split K instead: tiles of one output vec4 per
 * invocation shared by KS slices of the K loop (64 invocations in all), so a launch has several times the
 * workgroups and each invocation a fraction of the K steps; the slices join by a fixed tree
 * (lib/gemm_tiled.wgsl), so results stay deterministic.
 */
import { EffnetError } from '../errors.js';
import { tileSpace } from './tile-space.js';

export interface GemmTile {
  WG_M: number;
  WG_N: number;
  TM: number;
  TN: number;
  KT: number;
  /** K slices (split K); 1 = none. */
  KS: number;
}

/** Enough workgroups to occupy every multiprocessor of a large GPU (an H100 has 132) a few times over. */
const MIN_WORKGROUPS = 256;
/**
 * Launches with fewer invocations than this split K: a quarter of the threads an H100 holds at once (132 SMs ×
 * 2048), below which a batch-1 layer leaves most of a big GPU idle and its time is its chain of K steps.
 */
const SPLIT_BELOW_INVOCATIONS = 65536;
/** K vec4s each slice walks at least: a shorter slice spends more on the reduction tree than it saves. */
const MIN_SLICE_STEPS = 4;
/** Fraction of a tile's outputs that must be real (not padding past M or N4). */
const MIN_FILL = 0.75;

const LAYOUTS: readonly [number, number][] = [
  [16, 4], [8, 8], [4, 16], [32, 4], [16, 8], [8, 16], [64, 4], [32, 8], [16, 16],
];
const REGS = [1, 2, 4];
/** Split-K tiles: WG_M × WG_N output vec4s (one per invocation), KS = SPLIT_WG / (WG_M · WG_N) slices. */
const SPLIT_SIDES = [1, 2, 4, 8, 16, 32];
const SPLIT_WG = 64;

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
        const KT = [8, 4, 2, 1].find((k) => fits({ WG_M, WG_N, TM, TN, KT: k, KS: 1 }));
        if (KT !== undefined) out.push({ WG_M, WG_N, TM, TN, KT, KS: 1 });
      }
    }
  }
  for (const WG_M of SPLIT_SIDES) {
    for (const WG_N of SPLIT_SIDES) {
      const KS = SPLIT_WG / (WG_M * WG_N);
      if (KS < 2) continue;
      const KT = [8, 4, 2, 1].find((k) => fits({ WG_M, WG_N, TM: 1, TN: 1, KT: k, KS }));
      if (KT !== undefined) out.push({ WG_M, WG_N, TM: 1, TN: 1, KT, KS });
    }
  }
  candidates = out;
  return [...out];
}

export const gemmWorkgroups = (t: GemmTile, M: number, N4: number): number =>
  Math.ceil(M / (t.WG_M * t.TM)) * Math.ceil(N4 / (t.WG_N * t.TN));

/** The tile for an M × N4 (vec4 columns) GEMM over K4 input vec4s on a hardware GPU, by the rule in the header. */
export function gemmTile(M: number, N4: number, K4: number): GemmTile {
  if (!(M >= 1 && N4 >= 1 && K4 >= 1)) throw new EffnetError('MODEL_SPEC', `GEMM tile: M, N4 and K4 must be positive, got ${M} × ${N4} × ${K4}`);
  const fill = (t: GemmTile) => {
    const BM = t.WG_M * t.TM;
    const BN = t.WG_N * t.TN;
    return (M * N4) / (Math.ceil(M / BM) * BM * Math.ceil(N4 / BN) * BN);
  };
  const size = (t: GemmTile) => t.WG_M * t.TM * t.WG_N * t.TN;
  const workgroups = (t: GemmTile) => gemmWorkgroups(t, M, N4);
  // Largest tile first; among equals the fuller one, then fewer invocations per workgroup.
  const largest = (ts: GemmTile[]) => ts.reduce((a, b) => (size(b) > size(a) || (size(b) === size(a) && fill(b) > fill(a)) ? b : a));
  // Too small to fill the GPU: as many workgroups as possible, each of the smallest workgroup size (the least split).
  const widest = (ts: GemmTile[]) =>
    ts.reduce((a, b) => {
      const [wa, wb] = [workgroups(a), workgroups(b)];
      return wb > wa || (wb === wa && b.WG_M * b.WG_N * b.KS < a.WG_M * a.WG_N * a.KS) ? b : a;
    });
  const pick = (all: GemmTile[]) => {
    const fitting = all.filter((t) => fill(t) >= MIN_FILL);
    const pool = fitting.length ? fitting : all;
    const busy = pool.filter((t) => workgroups(t) >= MIN_WORKGROUPS);
    return busy.length ? largest(busy) : widest(pool);
  };
  const invocations = (t: GemmTile) => workgroups(t) * t.WG_M * t.WG_N * t.KS;
  const whole = pick(gemmCandidates().filter((t) => t.KS === 1));
  if (workgroups(whole) >= MIN_WORKGROUPS && invocations(whole) >= SPLIT_BELOW_INVOCATIONS) return whole;
  // Split only as far as every slice keeps MIN_SLICE_STEPS of K to walk.
  const split = gemmCandidates().filter((t) => t.KS > 1 && t.KS * MIN_SLICE_STEPS <= K4 && fill(t) >= MIN_FILL);
  if (!split.length) return whole;
  const busy = split.filter((t) => workgroups(t) >= MIN_WORKGROUPS && invocations(t) >= SPLIT_BELOW_INVOCATIONS);
  const best = busy.length
    ? largest(busy)
    : split.reduce((a, b) => (invocations(b) > invocations(a) || (invocations(b) === invocations(a) && b.KS < a.KS) ? b : a));
  return invocations(best) > invocations(whole) ? best : whole;
}

/**
 * The GEMM tiles worth timing for an M × N4 GEMM over K4 input vec4s: those that pad little, spread from the
 * largest to the smallest; split-K tiles where the planner's rule would split (too few workgroups without).
 */
export function gemmSearch(M: number, N4: number, K4: number, max: number): GemmTile[] {
  const fill = (t: GemmTile) => (M * N4) / (gemmWorkgroups(t, M, N4) * t.WG_M * t.TM * t.WG_N * t.TN);
  const splits = gemmTile(M, N4, K4).KS > 1;
  const ok = gemmCandidates().filter((t) => fill(t) >= 0.5 && (t.KS === 1 || (splits && t.KS <= K4)));
  const bySize = (ok.length ? ok : gemmCandidates()).sort((a, b) => b.WG_M * b.TM * b.WG_N * b.TN - a.WG_M * a.TM * a.WG_N * a.TN);
  if (bySize.length <= max) return bySize;
  return Array.from({ length: max }, (_, i) => bySize[Math.round((i * (bySize.length - 1)) / (max - 1))]!);
}
