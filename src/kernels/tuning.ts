/**
 * The search space of on-device tuning, and how a tuning result reaches the planners. A kernel's overrides
 * split in two: the ones that say WHAT it computes (fusions, kernel size, stride) and the ones that only say
 * HOW its work is cut up (register tile, workgroup shape) — its tile, declared with its ranges and constraints
 * in the kernel's WGSL (src/kernels/tile-space.ts). A launch's tuning key is its kernel, uniforms and non-tile
 * overrides: two layers with the same key do the same work the same way, so one measured choice serves both.
 * Tuning only ever swaps tile overrides for tiles the WGSL allows, so a tuned schedule has the same tensors,
 * bindings and uniforms as the planned one and computes every output's sum in the same order.
 */
import { EffnetError } from '../errors.js';
import { gemmCandidates, gemmWorkgroups, type GemmTile } from './gemm_tiles.js';
import type { Launch, LaunchTarget } from './launch.js';
import type { Overrides } from './library.js';
import { rankPointwiseTiles } from './pointwise.js';
import type { UniformValues } from './reflect.js';
import { kernelEntry, reflectedKernel } from './registry.js';
import { preview, tileProblem, tileSpace } from './tile-space.js';

export { isTunable } from './tile-space.js';

/** A tuning result as the planners use it: tuning key → the tile overrides to use. */
export type TuningChoices = ReadonlyMap<string, Overrides>;

const entries = (o: Readonly<Record<string, number | readonly number[]>>) =>
  Object.keys(o).sort().map((k) => `${k}=${String(o[k])}`).join(',');

/** Kernel, uniforms and non-tile overrides: the work a launch does, whatever its tile. */
export function tuningKey(l: Pick<Launch, 'kernel' | 'uniforms' | 'overrides'>): string {
  const tile = tileSpace(l.kernel)?.keys ?? [];
  const fixed = Object.fromEntries(Object.entries(l.overrides).filter(([k]) => !tile.includes(k)));
  return `${l.kernel}|${entries(l.uniforms)}|${entries(fixed)}`;
}

/** The launch a tuning key describes: kernel, uniforms (vector fields as arrays) and non-tile overrides. */
export interface KeyedLaunch {
  kernel: string;
  uniforms: UniformValues;
  fixed: Overrides;
}

/**
 * A tuning key read back into the launch it describes, or why it cannot be one: a tunable kernel, exactly that
 * kernel's uniform fields, only its non-tile overrides, and in the canonical form `tuningKey` writes.
 */
export function parseTuningKey(key: string): KeyedLaunch | string {
  const parts = key.split('|');
  if (parts.length !== 3) return "not of the form 'kernel|uniforms|overrides'";
  const [kernel, u, o] = parts as [string, string, string];
  let space;
  try {
    space = tileSpace(kernel);
  } catch {
    return `no kernel named ${preview(kernel)}`;
  }
  if (!space) return `kernel '${kernel}' is not tunable`;
  const read = (text: string, what: string): Record<string, number | number[]> | string => {
    const out: Record<string, number | number[]> = {};
    let last: string | undefined;
    for (const item of text ? text.split(',') : []) {
      const eq = item.indexOf('=');
      // A vector field is written `name=a,b,c,d`: the items after the first belong to the name before.
      const [name, value] = eq >= 0 ? [item.slice(0, eq), item.slice(eq + 1)] : [undefined, item];
      const v = Number(value);
      if (value === '' || !Number.isFinite(v)) return `${what} value ${preview(value)} is not a number`;
      if (name === undefined) {
        if (last === undefined) return `${what} ${preview(item)} has no name`;
        const prev = out[last]!;
        out[last] = [...(Array.isArray(prev) ? prev : [prev]), v];
      } else {
        if (Object.hasOwn(out, name)) return `${what} ${preview(name)} appears twice`;
        out[name] = v;
        last = name;
      }
    }
    return out;
  };
  const uniforms = read(u, 'uniform');
  if (typeof uniforms === 'string') return uniforms;
  const fixed = read(o, 'override');
  if (typeof fixed === 'string') return fixed;
  const fields = [...(reflectedKernel(kernelEntry(kernel)).uniforms.get('params')?.fields.keys() ?? [])];
  const missing = fields.filter((f) => !Object.hasOwn(uniforms, f));
  const unknown = Object.keys(uniforms).filter((f) => !fields.includes(f));
  if (missing.length || unknown.length) {
    return `its uniforms are not ${kernel}'s (${[missing.length ? `missing ${missing.join(', ')}` : '', unknown.length ? `unknown ${unknown.map(preview).join(', ')}` : ''].filter(Boolean).join('; ')})`;
  }
  const allowed = kernelEntry(kernel).overrides.filter((k) => !space.keys.includes(k));
  const bad = Object.keys(fixed).filter((k) => !allowed.includes(k) || Array.isArray(fixed[k]));
  if (bad.length) return `it fixes ${bad.map(preview).join(', ')}, which ${kernel} does not take as a non-tile override (${allowed.join(', ') || 'none'})`;
  const launch = { kernel, uniforms, fixed: fixed as Overrides };
  if (tuningKey({ kernel, uniforms, overrides: launch.fixed }) !== key) return 'it is not in the canonical form effnet tune writes (fields in name order)';
  return launch;
}

/** `l` with its tile overrides replaced (and its workgroup count recomputed). */
export function withTile<L extends Launch>(l: L, tile: Overrides): L {
  const overrides = { ...l.overrides, ...tile };
  const numeric = Object.fromEntries(Object.entries(l.uniforms).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
  return { ...l, overrides, workgroups: kernelEntry(l.kernel).workgroups({ ...numeric, ...overrides }) };
}

/** The overrides of `l` that are not its tile. */
const fixedOf = (l: Pick<Launch, 'kernel' | 'overrides'>): Overrides => {
  const keys = tileSpace(l.kernel)?.keys ?? [];
  return Object.fromEntries(Object.entries(l.overrides).filter(([k]) => !keys.includes(k)));
};

/** Why `tile` cannot run `l` (src/kernels/tile-space.ts), or undefined when it can. */
export const launchTileProblem = (l: Pick<Launch, 'kernel' | 'uniforms' | 'overrides'>, tile: Overrides): string | undefined => tileProblem(l.kernel, l.uniforms, fixedOf(l), tile);

/**
 * The planned launch, or the tuned one when `choices` has this launch's key (the tuned tier only). A tile its
 * kernel does not allow never reaches a pipeline: tuning files are checked when read, and this asserts it.
 */
export function applyTuning<L extends Launch>(l: L, target: LaunchTarget): L {
  const tile = target.tier !== 'quick' ? target.tuning?.get(tuningKey(l)) : undefined;
  if (!tile) return l;
  const problem = launchTileProblem(l, tile);
  if (problem) throw new EffnetError('TUNING', `tuning for ${tuningKey(l)}: ${problem}`);
  return withTile(l, tile);
}

const tileOf = (l: Launch): Overrides => Object.fromEntries((tileSpace(l.kernel)?.keys ?? []).filter((k) => k in l.overrides).map((k) => [k, l.overrides[k]!]));
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
 * Tile overrides to time for `l`, its planned tile first, at most `max` in all, each one its WGSL allows. SwiftShader's pointwise
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
  // Every candidate is a tile the kernel's WGSL allows for this launch (the planned one is by construction).
  return [planned, ...all.filter((t) => !same(t) && launchTileProblem(l, t) === undefined)].slice(0, Math.max(1, max));
}
