/**
 * What a tuning may change, read from the kernel's own WGSL. A tunable kernel (or a lib file it includes)
 * declares in its header which overrides only cut its work up — its tile — with their ranges, and what a tile
 * must satisfy for a given launch:
 *
 *   // Tile: TM 1..16, TN 1..8, WG 1..256
 *   // Requires: SE_SCALE == 0 || TM <= HW
 *
 * (`Requires` is an expression over the kernel's uniform fields and override values, src/kernels/expression.ts.)
 * This one declaration is what tuning files are checked against (src/tuning/file.ts), what the tuner's
 * candidates must pass (src/kernels/tuning.ts) and what `applyTuning` asserts before a tile reaches a pipeline:
 * no other override can be tuned, and no tile outside it can run. A kernel with no `Tile:` line is not tunable.
 */
import { EffnetError } from '../errors.js';
import { parseExpression, type Expression } from './expression.js';
import { headerValues } from './launch.js';
import type { Overrides } from './library.js';
import type { UniformValues } from './reflect.js';
import { kernelEntry, kernelSource, type KernelEntry } from './registry.js';

export interface TileSpace {
  kernel: string;
  /** The tile overrides, in declaration order. */
  keys: readonly string[];
  /** Inclusive integer range of each key. */
  ranges: Readonly<Record<string, readonly [number, number]>>;
  requires: readonly Expression[];
}

const TILE = /^\s*\/\/\s*Tile:\s*(.*)$/gm;
const REQUIRES = /^\s*\/\/\s*Requires:\s*(.*)$/gm;
const RANGE = /^([A-Za-z_]\w*)\s+(\d+)\.\.(\d+)$/;

const spaces = new Map<string, TileSpace | null>();

/** The kernel's tile space, or undefined when it has none (not tunable). Parsed once per kernel. */
export function tileSpace(kernel: string): TileSpace | undefined {
  let s = spaces.get(kernel);
  if (s === undefined) {
    s = parseTileSpace(kernelEntry(kernel));
    spaces.set(kernel, s);
  }
  return s ?? undefined;
}

function parseTileSpace(entry: KernelEntry): TileSpace | null {
  const source = kernelSource(entry);
  const fail = (why: string): never => {
    throw new EffnetError('KERNEL_REGISTRY', `kernel '${entry.name}': ${why}`);
  };
  const ranges: Record<string, readonly [number, number]> = {};
  for (const [, list] of source.matchAll(TILE)) {
    for (const item of list!.split(',')) {
      const m = RANGE.exec(item.trim());
      if (!m) fail(`'Tile:' item '${item.trim()}' is not 'NAME lo..hi'`);
      const [name, lo, hi] = [m![1]!, Number(m![2]), Number(m![3])];
      if (!entry.overrides.includes(name)) fail(`'Tile:' names ${name}, which is not one of its overrides (${entry.overrides.join(', ')})`);
      if (!(lo >= 1 && lo <= hi)) fail(`'Tile:' range of ${name} is empty or starts below 1`);
      if (Object.hasOwn(ranges, name)) fail(`'Tile:' names ${name} twice`);
      ranges[name] = [lo, hi];
    }
  }
  const keys = Object.keys(ranges);
  const requires = [...source.matchAll(REQUIRES)].map(([, text]) => {
    try {
      return parseExpression(text!.trim());
    } catch (e) {
      return fail(`'Requires: ${text!.trim()}': ${(e as Error).message}`);
    }
  });
  if (!keys.length) return requires.length ? fail("a 'Requires:' line without a 'Tile:' line") : null;
  return { kernel: entry.name, keys, ranges, requires };
}

export const isTunable = (kernel: string): boolean => tileSpace(kernel) !== undefined;

/**
 * Why `tile` cannot run a launch of `kernel` with these uniforms and other overrides, or undefined when it can:
 * it must give every tile key of the kernel and nothing else, each an integer within its range, and meet every
 * `Requires:` line.
 */
export function tileProblem(kernel: string, uniforms: UniformValues, fixed: Overrides, tile: Readonly<Record<string, unknown>>): string | undefined {
  const space = tileSpace(kernel);
  if (!space) return `kernel '${kernel}' is not tunable`;
  const extra = Object.keys(tile).filter((k) => !space.keys.includes(k));
  if (extra.length) return `${extra.map((k) => `'${k}'`).join(', ')} ${extra.length > 1 ? 'are not tile overrides' : 'is not a tile override'} of ${kernel} (its tile: ${space.keys.join(', ')})`;
  const missing = space.keys.filter((k) => !Object.hasOwn(tile, k));
  if (missing.length) return `the tile must give every key of ${kernel}'s tile (${space.keys.join(', ')}); missing ${missing.join(', ')}`;
  for (const k of space.keys) {
    const v = tile[k];
    const [lo, hi] = space.ranges[k]!;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) return `${k} = ${preview(v)} is outside ${lo}..${hi}`;
  }
  // Every key was checked above to be one of the tile's, holding an integer in range.
  const values = headerValues(uniforms, { ...fixed, ...(tile as Overrides) });
  for (const r of space.requires) {
    let ok: number;
    try {
      ok = r.evaluate(values);
    } catch (e) {
      return `cannot check '${r.text}': ${(e as Error).message}`;
    }
    if (ok === 0) return `${r.names.map((n) => `${n} = ${values[n]}`).join(', ')} breaks '${r.text}'`;
  }
  return undefined;
}

/** A value from a file, shown without letting a huge string or object into a message. */
export function preview(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' && v !== null ? (Array.isArray(v) ? 'an array' : 'an object') : String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
