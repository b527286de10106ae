/**
 * The kernel registry: one entry per kernels/<name>.wgsl file. An entry holds only what the WGSL cannot
 * say — its source, its entry point and its dispatch formula (a linear workgroup count; KernelLibrary.grid
 * folds it into x/y). Bindings, overrides and uniform layouts are reflected from the WGSL on first use, and
 * the reflection enforces the binding convention every kernel follows (checkConventions).
 */
import { reflectKernel, type ReflectedBinding, type ReflectedKernel } from './reflect.js';
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
import siluWgsl from '../../kernels/silu.wgsl';
import addWgsl from '../../kernels/add.wgsl';
import channelScaleWgsl from '../../kernels/channel_scale.wgsl';
import fusedConvWgsl from '../../kernels/fused_conv.wgsl';
import fusedConvTiledWgsl from '../../kernels/fused_conv_tiled.wgsl';
import stemWgsl from '../../kernels/stem.wgsl';
import pointwiseWgsl from '../../kernels/pointwise.wgsl';
import pointwiseTiledWgsl from '../../kernels/pointwise_tiled.wgsl';
import preprocessLib from '../../kernels/lib/preprocess.wgsl';
import preprocessWgsl from '../../kernels/preprocess.wgsl';
import preprocessTextureWgsl from '../../kernels/preprocess_texture.wgsl';

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
  /** Linear workgroup count, from the uniform values and overrides the caller passes. */
  workgroups(p: DispatchParams): number;
  /** Invocations per workgroup under these overrides (what the WGSL's @workgroup_size evaluates to). */
  workgroupSize(o: DispatchParams): number;
  /**
   * f32 accumulators one invocation keeps live across its main loop under these overrides: the register
   * pressure a launch puts on a GPU (`effnet plan` reports it; a hardware-GPU schedule keeps it ≤ 64).
   */
  accumulators(o: DispatchParams): number;
}

interface Shape {
  workgroupSize?: (o: DispatchParams) => number;
  accumulators: (o: DispatchParams) => number;
  entryPoint?: string;
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

// Most kernels size their workgroup with one `WG` override (default 64 in every file).
const byWG = (o: DispatchParams) => o.WG ?? 64;

function kernel(name: string, source: string, workgroups: (p: DispatchParams) => number, shape: Shape): KernelEntry {
  const entry: KernelEntry = {
    name,
    source,
    entryPoint: shape.entryPoint ?? 'main',
    workgroups,
    workgroupSize: shape.workgroupSize ?? byWG,
    accumulators: shape.accumulators,
    get bindings() {
      return reflectedKernel(entry).bindings;
    },
    get overrides() {
      return reflectedKernel(entry).overrides;
    },
  };
  return entry;
}

// One invocation per vec4 of a `count`-vec4 tensor.
const perVec4 = (p: DispatchParams) => ceilDiv(p.count!, p.WG ?? 64);
// One workgroup per image or row.
const perRow = (p: DispatchParams) => p.N!;
// The direct convolutions' TM-pixel × TN-vec4 register tiles (lib/conv_tile.wgsl); defaultTN is the WGSL's default.
const perConvTile = (defaultTN: number) => (p: DispatchParams) =>
  ceilDiv(p.N! * p.Ho! * ceilDiv(p.Wo!, p.TM ?? 4) * ceilDiv(p.Cout4!, p.TN ?? defaultTN), p.WG ?? 64);
// lib/gemm_tiled.wgsl: one workgroup per (WG_M·TM) × (WG_N·TN vec4) output tile of an M × N4 GEMM (defaults as in the WGSL).
const perGemmTile = (M: (p: DispatchParams) => number, N4: (p: DispatchParams) => number) => (p: DispatchParams) =>
  ceilDiv(M(p), (p.WG_M ?? 16) * (p.TM ?? 4)) * ceilDiv(N4(p), (p.WG_N ?? 4) * (p.TN ?? 4));
const gemmShape: Shape = { workgroupSize: (o) => (o.WG_M ?? 16) * (o.WG_N ?? 4), accumulators: (o) => 4 * (o.TM ?? 4) * (o.TN ?? 4) };
// One vec4 accumulator per invocation.
const oneVec4: Shape = { accumulators: () => 4 };
// A TM × TN register tile of vec4s (defaults as in the WGSL).
const registerTile = (TM: number, TN: number): Shape => ({ accumulators: (o) => 4 * (o.TM ?? TM) * (o.TN ?? TN) });

export const KERNELS: readonly KernelEntry[] = [
  // A strip of TW output vec4s.
  kernel('dwconv', dwconvWgsl, perVec4, { accumulators: (o) => 4 * (o.TW ?? 8) }),
  // One output vec4 at a time plus the squeeze sum.
  kernel('dwconv_compact', dwconvCompactWgsl, perVec4, { accumulators: () => 8 }),
  kernel('se_excite', seExciteWgsl, perRow, oneVec4),
  // Four independent vec4 sums.
  kernel('pool', poolWgsl, perVec4, { accumulators: () => 16 }),
  // One workgroup per (image, channel vec4); needs the adapter's `subgroups` feature.
  kernel('pool_subgroup', poolSubgroupWgsl, (p) => p.count!, oneVec4),
  kernel('softmax', softmaxWgsl, perRow, oneVec4),
  // silu, add and channel_scale are the unfused reference path: no planned graph uses them (the engine fuses
  // them into the conv epilogues and the projection's prologue). bench/kernels.ts times the fused SE and
  // residual paths against channel_scale and add; the kernel cases check all three against float64.
  kernel('silu', siluWgsl, perVec4, oneVec4),
  kernel('add', addWgsl, perVec4, oneVec4),
  kernel('channel_scale', channelScaleWgsl, perVec4, oneVec4),
  kernel('fused_conv', fusedConvWgsl, perConvTile(4), registerTile(4, 4)),
  kernel('fused_conv_tiled', fusedConvTiledWgsl, perGemmTile((p) => p.N! * p.Ho! * p.Wo!, (p) => p.Cout4!), gemmShape),
  kernel('stem', stemWgsl, perConvTile(2), registerTile(4, 2)),
  kernel('pointwise', pointwiseWgsl, (p) => ceilDiv(ceilDiv(p.M!, p.TM ?? 8) * ceilDiv(p.N4!, p.TN ?? 4), p.WG ?? 64), registerTile(8, 4)),
  kernel('pointwise_tiled', pointwiseTiledWgsl, perGemmTile((p) => p.M!, (p) => p.N4!), gemmShape),
  // One invocation per output pixel of one image.
  // The filter's weighted RGB sum and its weight total.
  kernel('preprocess', preprocessWgsl, (p) => ceilDiv(p.outH! * p.outW!, p.WG ?? 64), { accumulators: () => 5 }),
  // The same, from a texture the browser copied the image into (no CPU readback).
  kernel('preprocess_texture', preprocessTextureWgsl, (p) => ceilDiv(p.outH! * p.outW!, p.WG ?? 64), { accumulators: () => 5 }),
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
};

const INCLUDE = /^\s*\/\/!include\s+(\S+)\s*$/gm;

/**
 * A kernel's WGSL with its `//!include lib/x.wgsl` lines replaced by the shared library files. Each
 * library file is included at most once per kernel, so two includes of the same helper cannot collide.
 */
export function kernelSource(entry: Pick<KernelEntry, 'name' | 'source'>): string {
  const seen = new Set<string>();
  const expand = (src: string, from: string): string =>
    src.replace(INCLUDE, (_, lib: string) => {
      if (seen.has(lib)) return '';
      seen.add(lib);
      const body = LIBRARY[lib];
      if (body === undefined) throw new EffnetError('KERNEL_REGISTRY', `${from}: include of unknown file ${lib}`);
      return expand(body, lib);
    });
  return expand(entry.source, `kernels/${entry.name}.wgsl`);
}

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
