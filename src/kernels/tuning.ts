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
import { type Launch, type LaunchTarget, launchOf } from './launch.js';
import type { Overrides } from './library.js';
import { opOfKernel } from './ops.js';
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
  return { ...l, ...launchOf(l.kernel, l.uniforms, { ...l.overrides, ...tile }) };
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
/**
 * Tile overrides to time for `l`, its planned tile first, at most `max` in all, each one its WGSL allows: the
 * planned tile, then its op's search (KernelOp.candidates).
 */
export function tileCandidates(l: Launch, max: number): Overrides[] {
  const all = opOfKernel(l.kernel)?.candidates?.(l, max) ?? [];
  const planned = tileOf(l);
  const same = (a: Overrides) => Object.keys(planned).every((k) => a[k] === planned[k]);
  // Every candidate is a tile the kernel's WGSL allows for this launch (the planned one is by construction).
  return [planned, ...all.filter((t) => !same(t) && launchTileProblem(l, t) === undefined)].slice(0, Math.max(1, max));
}
