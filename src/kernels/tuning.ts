/**
 * The search space of on-device tuning, and how a tuning result reaches the planners. A kernel's overrides
 * split in two: the ones that say WHAT it computes (fusions, kernel size, stride) and the ones that only say
 * HOW its work is cut up (register tile, workgroup shape) — the tile overrides below. A launch's tuning key is
 * its kernel, uniforms and non-tile overrides: two layers with the same key do the same work the same way, so
 * one measured choice serves both. Tuning only ever swaps tile overrides, so a tuned schedule has the same
 * tensors, bindings and uniforms as the planned one, and every candidate is a launch the kernel cases check.
 */
import { gemmCandidates, gemmWorkgroups, type GemmTile } from './gemm_tiles.js';
import type { Launch, LaunchTarget } from './launch.js';
import type { Overrides } from './library.js';
import { rankPointwiseTiles } from './pointwise.js';
import { kernelEntry } from './registry.js';

/** Per tunable kernel, the overrides that choose how its work is cut up (never what it computes). */
export const TILE_OVERRIDES: Readonly<Record<string, readonly string[]>> = {
  pointwise: ['TM', 'TN', 'WG'],
  pointwise_tiled: ['WG_M', 'WG_N', 'TM', 'TN', 'KT'],
  fused_conv: ['TM', 'TN', 'WG'],
  fused_conv_tiled: ['WG_M', 'WG_N', 'TM', 'TN', 'KT'],
  stem: ['TM', 'TN', 'WG'],
  // Its strip width and rows per invocation also decide the SE squeeze's partial slots, a tensor se_excite
  // reads: only the workgroup size is free.
  dwconv: ['WG'],
};

/** A tuning result as the planners use it: tuning key → the tile overrides to use. */
export type TuningChoices = ReadonlyMap<string, Overrides>;

const entries = (o: Readonly<Record<string, number | readonly number[]>>) =>
  Object.keys(o).sort().map((k) => `${k}=${String(o[k])}`).join(',');

/** Kernel, uniforms and non-tile overrides: the work a launch does, whatever its tile. */
export function tuningKey(l: Pick<Launch, 'kernel' | 'uniforms' | 'overrides'>): string {
  const tile = TILE_OVERRIDES[l.kernel] ?? [];
  const fixed = Object.fromEntries(Object.entries(l.overrides).filter(([k]) => !tile.includes(k)));
  return `${l.kernel}|${entries(l.uniforms)}|${entries(fixed)}`;
}

export const isTunable = (kernel: string): boolean => kernel in TILE_OVERRIDES;

/** `l` with its tile overrides replaced (and its workgroup count recomputed). */
export function withTile<L extends Launch>(l: L, tile: Overrides): L {
  const overrides = { ...l.overrides, ...tile };
  const numeric = Object.fromEntries(Object.entries(l.uniforms).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
  return { ...l, overrides, workgroups: kernelEntry(l.kernel).workgroups({ ...numeric, ...overrides }) };
}

/** The planned launch, or the tuned one when `choices` has this launch's key (the tuned tier only). */
export function applyTuning<L extends Launch>(l: L, target: LaunchTarget): L {
  const tile = target.tier !== 'quick' ? target.tuning?.get(tuningKey(l)) : undefined;
  return tile ? withTile(l, tile) : l;
}

const tileOf = (l: Launch): Overrides => Object.fromEntries((TILE_OVERRIDES[l.kernel] ?? []).filter((k) => k in l.overrides).map((k) => [k, l.overrides[k]!]));
const num = (l: Launch, k: string) => l.uniforms[k] as number;

/** The GEMM tiles worth timing for an M × N4 GEMM: those that pad little, spread from the largest to the smallest. */
function gemmSearch(M: number, N4: number, max: number): GemmTile[] {
  const fill = (t: GemmTile) => (M * N4) / (gemmWorkgroups(t, M, N4) * t.WG_M * t.TM * t.WG_N * t.TN);
  const ok = gemmCandidates().filter((t) => fill(t) >= 0.5);
  const bySize = (ok.length ? ok : gemmCandidates()).sort((a, b) => b.WG_M * b.TM * b.WG_N * b.TN - a.WG_M * a.TM * a.WG_N * a.TN);
  if (bySize.length <= max) return bySize;
  return Array.from({ length: max }, (_, i) => bySize[Math.round((i * (bySize.length - 1)) / (max - 1))]!);
}

/** TM × TN register tiles of the direct convs (lib/conv_tile.wgsl: TM ≤ 16, TN ≤ 4 within the padded width). */
function convSearch(l: Launch): Overrides[] {
  const Wo = num(l, 'Wo');
  const Cout4 = num(l, 'Cout4');
  const tms = [...new Set([4, 8, 12, 16, Math.min(Wo, 16)].filter((t) => t <= Math.min(16, Wo)))];
  const tns = [1, 2, 4, ...(Cout4 % 3 === 0 ? [3] : [])];
  return tms.flatMap((TM) => tns.map((TN) => ({ TM, TN, WG: l.overrides.WG ?? 64 })));
}

/**
 * Tile overrides to time for `l`, its planned tile first, at most `max` in all. SwiftShader's pointwise
 * takes the cost model's next best tiles; the GEMM kernels a spread of sizes; the direct convs their tile
 * grid; dwconv a few workgroup sizes.
 */
export function tileCandidates(l: Launch, max: number): Overrides[] {
  let all: Overrides[];
  switch (l.kernel) {
    case 'pointwise': {
      const o = l.overrides;
      const ranked = rankPointwiseTiles({ act: o.ACT === 1 ? 'silu' : 'none', residual: o.HAS_RES === 1, seScale: o.SE_SCALE === 1, HW: num(l, 'HW') }, num(l, 'M'), num(l, 'K4'), num(l, 'N4'));
      all = ranked.map((t) => ({ ...t, WG: o.WG! }));
      break;
    }
    case 'pointwise_tiled':
      all = gemmSearch(num(l, 'M'), num(l, 'N4'), max).map((t) => ({ ...t }));
      break;
    case 'fused_conv_tiled':
      all = gemmSearch(num(l, 'N') * num(l, 'Ho') * num(l, 'Wo'), num(l, 'Cout4'), max).map((t) => ({ ...t }));
      break;
    case 'fused_conv':
    case 'stem':
      all = convSearch(l);
      break;
    case 'dwconv':
      all = [16, 32, 64, 128].map((WG) => ({ WG }));
      break;
    default:
      all = [];
  }
  const planned = tileOf(l);
  const same = (a: Overrides) => Object.keys(planned).every((k) => a[k] === planned[k]);
  return [planned, ...all.filter((t) => !same(t))].slice(0, Math.max(1, max));
}
