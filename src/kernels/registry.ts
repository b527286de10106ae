/**
 * The kernel registry: one entry per kernels/<name>.wgsl file, holding its source and entry point; everything
 * else comes from the WGSL on first use. Bindings, overrides, their defaults, uniform layouts and
 * `@workgroup_size` are reflected; the workgroup count and register pressure are the header's `// Dispatch:`
 * and `// Accumulators:` lines (src/kernels/expression.ts), the same contract kernel-bench holds users' kernels
 * to (a linear workgroup count; KernelLibrary.grid folds it into x/y). The reflection enforces the binding
 * convention every kernel follows (checkConventions).
 */
import { overrideValues, reflectKernel, type ReflectedBinding, type ReflectedKernel } from './reflect.js';
import { headerLine, parseExpression, type Expression } from './expression.js';
import { EffnetError } from '../errors.js';
import actLib from '../../kernels/lib/act.wgsl';
import gridLib from '../../kernels/lib/grid.wgsl';
import convTileLib from '../../kernels/lib/conv_tile.wgsl';
import gemmTiledLib from '../../kernels/lib/gemm_tiled.wgsl';
import dwconvWgsl from '../../kernels/dwconv.wgsl';
import dwconvCompactWgsl from '../../kernels/dwconv_compact.wgsl';
import seExciteWgsl from '../../kernels/se_excite.wgsl';
import poolWgsl from '../../kernels/pool.wgsl';
import poolSubgroupWgsl from '../../kernels/pool_subgroup.wgsl';
import softmaxWgsl from '../../kernels/softmax.wgsl';
import elementwiseWgsl from '../../kernels/elementwise.wgsl';
import fusedConvWgsl from '../../kernels/fused_conv.wgsl';
import fusedConvTiledWgsl from '../../kernels/fused_conv_tiled.wgsl';
import stemWgsl from '../../kernels/stem.wgsl';
import pointwiseWgsl from '../../kernels/pointwise.wgsl';
import pointwiseTiledWgsl from '../../kernels/pointwise_tiled.wgsl';
import preprocessLib from '../../kernels/lib/preprocess.wgsl';
import epilogueLib from '../../kernels/lib/epilogue.wgsl';
import pointwiseIoLib from '../../kernels/lib/pointwise_io.wgsl';
import fusedConvIoLib from '../../kernels/lib/fused_conv_io.wgsl';
import poolIoLib from '../../kernels/lib/pool_io.wgsl';
import dwconvIoLib from '../../kernels/lib/dwconv_io.wgsl';
import preprocessWgsl from '../../kernels/preprocess.wgsl';
import preprocessTextureWgsl from '../../kernels/preprocess_texture.wgsl';
import peakFmaWgsl from '../../kernels/peak_fma.wgsl';
import peakCopyWgsl from '../../kernels/peak_copy.wgsl';

export type DispatchParams = Record<string, number>;

export interface KernelEntry {
  readonly name: string;
  /** kernels/<name>.wgsl as written; kernelSource expands its includes. */
  readonly source: string;
  readonly entryPoint: string;
  /** Reflected, in binding order: bindings[i] is `@group(0) @binding(i)`. */
  readonly bindings: readonly ReflectedBinding[];
  /** Reflected: the override constants a caller may set. */
  readonly overrides: readonly string[];
  /** Linear workgroup count: the WGSL's `// Dispatch:` line over the uniform values and overrides passed. */
  workgroups(p: DispatchParams): number;
  /** Invocations per workgroup under these overrides: the WGSL's `@workgroup_size`. */
  workgroupSize(o: DispatchParams): number;
  /**
   * f32 accumulators one invocation keeps live across its main loop under these overrides (the WGSL's
   * `// Accumulators:` line): the register pressure a launch puts on a GPU (`effnet plan` reports it; a
   * hardware-GPU schedule keeps it ≤ 64).
   */
  accumulators(o: DispatchParams): number;
  /**
   * The longest chain of dependent steps one invocation walks under these uniforms and overrides (the WGSL's
   * `// Serial:` line: K steps, reduction slots, rows): what bounds a launch's latency on a GPU wide enough to run
   * all its invocations at once (`effnet plan` sums it along the schedule).
   */
  serialSteps(p: DispatchParams): number;
  /** The `// Dispatch:` line with the values it reads here (`N with N=1`): why a launch has as many workgroups as it has. */
  dispatchFormula(p: DispatchParams): string;
}

/** What a kernel's WGSL says of its launch, parsed once per kernel. */
interface LaunchShape {
  dispatch: Expression;
  accumulators: Expression;
  serial: Expression;
  workgroupSize: Expression;
}

const shapes = new WeakMap<KernelEntry, LaunchShape>();

function launchShape(entry: KernelEntry): LaunchShape {
  let shape = shapes.get(entry);
  if (shape) return shape;
  const r = reflectedKernel(entry);
  const source = kernelSource(entry);
  const fail = (why: string): never => {
    throw new EffnetError('KERNEL_REGISTRY', `kernel '${entry.name}': ${why}`);
  };
  const known = [...(r.uniforms.get('params')?.fields.keys() ?? []), ...r.overrides];
  const line = (key: string): Expression => {
    const h = headerLine(source, key);
    if (!h) return fail(`no '// ${key}:' header line`);
    let e: Expression;
    try {
      e = parseExpression(h.text);
    } catch (err) {
      return fail(`'${key}: ${h.text}': ${(err as Error).message}`);
    }
    const unknown = e.names.filter((n) => !known.includes(n));
    if (unknown.length) fail(`'${key}: ${h.text}' reads ${unknown.join(', ')}, neither a Params field nor an override`);
    return e;
  };
  shape = {
    dispatch: line('Dispatch'),
    accumulators: line('Accumulators'),
    serial: line('Serial'),
    workgroupSize: r.workgroupSizes.get(entry.entryPoint) ?? fail(`entry point ${entry.entryPoint} has no @workgroup_size`),
  };
  shapes.set(entry, shape);
  return shape;
}

/** The uniform values and overrides passed, with every override the caller left out at its WGSL default. */
const launchValues = (entry: KernelEntry, p: DispatchParams): Record<string, number> => ({ ...p, ...overrideValues(reflectedKernel(entry), p) });

/** A kernel entry for WGSL `source`; everything but the name and entry point is read from the WGSL when first used. */
export function defineKernel(name: string, source: string, entryPoint = 'main'): KernelEntry {
  const entry: KernelEntry = {
    name,
    source,
    entryPoint,
    workgroups: (p) => launchShape(entry).dispatch.evaluate(launchValues(entry, p)),
    workgroupSize: (o) => launchShape(entry).workgroupSize.evaluate(launchValues(entry, o)),
    accumulators: (o) => launchShape(entry).accumulators.evaluate(launchValues(entry, o)),
    serialSteps: (p) => launchShape(entry).serial.evaluate(launchValues(entry, p)),
    dispatchFormula: (p) => {
      const { dispatch } = launchShape(entry);
      const v = launchValues(entry, p);
      return `${dispatch.text} with ${dispatch.names.map((n) => `${n}=${v[n]}`).join(' ')}`;
    },
    get bindings() {
      return reflectedKernel(entry).bindings;
    },
    get overrides() {
      return reflectedKernel(entry).overrides;
    },
  };
  return entry;
}

export const KERNELS: readonly KernelEntry[] = [
  defineKernel('dwconv', dwconvWgsl),
  defineKernel('dwconv_compact', dwconvCompactWgsl),
  defineKernel('se_excite', seExciteWgsl),
  defineKernel('pool', poolWgsl),
  defineKernel('pool_subgroup', poolSubgroupWgsl),
  defineKernel('softmax', softmaxWgsl),
  // The unfused reference path (silu, add, channel scale): no planned graph runs it.
  defineKernel('elementwise', elementwiseWgsl),
  defineKernel('fused_conv', fusedConvWgsl),
  defineKernel('fused_conv_tiled', fusedConvTiledWgsl),
  defineKernel('stem', stemWgsl),
  defineKernel('pointwise', pointwiseWgsl),
  defineKernel('pointwise_tiled', pointwiseTiledWgsl),
  defineKernel('preprocess', preprocessWgsl),
  defineKernel('preprocess_texture', preprocessTextureWgsl),
  defineKernel('peak_fma', peakFmaWgsl),
  defineKernel('peak_copy', peakCopyWgsl),
];

const byName = new Map(KERNELS.map((k) => [k.name, k]));

export function kernelEntry(name: string): KernelEntry {
  const k = byName.get(name);
  if (!k) throw new EffnetError('KERNEL_REGISTRY', `no kernel named '${name}' (known: ${[...byName.keys()].join(', ')})`);
  return k;
}

/** What `//!include <name>` resolves to. */
const LIBRARY: Readonly<Record<string, string>> = {
  'lib/act.wgsl': actLib,
  'lib/grid.wgsl': gridLib,
  'lib/conv_tile.wgsl': convTileLib,
  'lib/gemm_tiled.wgsl': gemmTiledLib,
  'lib/preprocess.wgsl': preprocessLib,
  'lib/epilogue.wgsl': epilogueLib,
  'lib/pointwise_io.wgsl': pointwiseIoLib,
  'lib/fused_conv_io.wgsl': fusedConvIoLib,
  'lib/pool_io.wgsl': poolIoLib,
  'lib/dwconv_io.wgsl': dwconvIoLib,
};

const INCLUDE = /^[ \t]*\/\/!include[ \t]+(\S+)[ \t]*$/gm;

/** A kernel's WGSL with its library files, and where in it each library file starts. */
export interface ExpandedSource {
  code: string;
  /** Lines 1..ownLines are the kernel's own, line for line; the library files follow, in `libraries`. */
  ownLines: number;
  libraries: readonly { file: string; firstLine: number }[];
}

/**
 * `source` with each `//!include lib/x.wgsl` line blanked and the library files appended after it (each at most
 * once, its own includes expanded the same way). WGSL declarations may come in any order, so appending keeps
 * every line of the kernel's own text at its line number: compile errors and kernel-bench refusals point into
 * the file as written. An include of anything but a kernels/lib file is refused, naming its line.
 */
export function expandIncludes(source: string, label: string): ExpandedSource {
  const seen = new Set<string>();
  const parts: string[] = [];
  const libraries: { file: string; firstLine: number }[] = [];
  const lineCount = (text: string) => text.split('\n').length;
  let next = 0;
  const blank = (src: string, from: string): string =>
    src.replace(INCLUDE, (_line, lib: string, at: number) => {
      const body = LIBRARY[lib];
      if (body === undefined) {
        throw new EffnetError('KERNEL_REGISTRY', `${from}:${lineCount(src.slice(0, at))}: include of unknown file ${lib} (the library: ${Object.keys(LIBRARY).join(', ')})`);
      }
      if (!seen.has(lib)) {
        seen.add(lib);
        pending.push([lib, body]);
      }
      return `// include ${lib}: appended below`;
    });
  const pending: [string, string][] = [];
  const own = blank(source, label);
  parts.push(own.endsWith('\n') ? own : `${own}\n`);
  next = lineCount(parts[0]!);
  while (pending.length) {
    const [file, body] = pending.shift()!;
    const text = blank(body, file);
    libraries.push({ file, firstLine: next + 1 });
    const chunk = `// ---- ${file} ----\n${text.endsWith('\n') ? text : `${text}\n`}`;
    parts.push(chunk);
    next += lineCount(chunk) - 1;
  }
  return { code: parts.join(''), ownLines: lineCount(own), libraries };
}

/** A kernel's WGSL with its includes expanded (expandIncludes). */
export const kernelSource = (entry: Pick<KernelEntry, 'name' | 'source'>): string => expandIncludes(entry.source, `kernels/${entry.name}.wgsl`).code;

/**
 * The conventions the library and the planners rely on: the entry point exists, and the bindings are all in
 * group 0, numbered 0, 1, 2, … in order: the one uniform `params` first, then the read-only inputs (storage
 * buffers or textures), then the outputs (at least one).
 */
export function checkConventions(name: string, r: ReflectedKernel, entryPoint: string): void {
  const fail = (why: string): never => {
    throw new EffnetError('KERNEL_REGISTRY', `kernel '${name}': ${why} (every kernel binds, in group 0 from binding 0: the uniform params, then read-only inputs, then outputs)`);
  };
  if (!r.entryPoints.includes(entryPoint)) fail(`no compute entry point ${entryPoint} (found: ${r.entryPoints.join(', ') || 'none'})`);
  const rank = { uniform: 0, 'read-only-storage': 1, texture: 1, storage: 2 } as const;
  r.bindings.forEach((b, i) => {
    if (b.group !== 0 || b.binding !== i) fail(`${b.name} is @group(${b.group}) @binding(${b.binding}), expected @group(0) @binding(${i})`);
    if ((i === 0) !== (b.kind === 'uniform') || (i === 0 && b.name !== 'params')) fail(`binding ${i} is ${b.kind} ${b.name}`);
    if (i > 0 && rank[b.kind] < rank[r.bindings[i - 1]!.kind]) fail(`${b.kind} ${b.name} follows ${r.bindings[i - 1]!.kind} ${r.bindings[i - 1]!.name}`);
  });
  if (r.bindings.at(-1)?.kind !== 'storage') fail('no output binding');
}

const reflections = new WeakMap<KernelEntry, ReflectedKernel>();

/** The entry's WGSL reflected (once per entry) and checked against the conventions. */
export function reflectedKernel(entry: KernelEntry): ReflectedKernel {
  let r = reflections.get(entry);
  if (!r) {
    r = reflectKernel(kernelSource(entry), entry.name);
    checkConventions(entry.name, r, entry.entryPoint);
    reflections.set(entry, r);
  }
  return r;
}
