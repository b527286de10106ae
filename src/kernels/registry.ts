/**
 * The kernel registry: one entry per kernels/*.wgsl file. An entry is data — the file, its entry point,
 * its bindings in binding order (all in group 0), the override constants callers may set, and the
 * dispatch formula (a linear workgroup count; KernelLibrary.grid folds it into x/y).
 * test/registry.test.ts reflects every file and checks it against its entry.
 */
import type { BindingKind } from './reflect.js';
import { KERNEL_SOURCES, LIB_SOURCES } from './sources.js';
import { EffnetError } from '../errors.js';

export type DispatchParams = Record<string, number>;

export interface KernelEntry {
  name: string;
  file: string;
  entryPoint: string;
  /** In binding order: bindings[i] is `@group(0) @binding(i)`. */
  bindings: readonly { name: string; kind: BindingKind }[];
  /** Override constants a caller may set (each must exist in the WGSL). */
  overrides: readonly string[];
  /** Linear workgroup count, from the uniform values and overrides the caller passes. */
  workgroups(p: DispatchParams): number;
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** The binding order every kernel uses: the uniform `params`, then read-only inputs, then outputs. */
const io = (inputs: string[], outputs: string[]): KernelEntry['bindings'] => [
  { name: 'params', kind: 'uniform' },
  ...inputs.map((name) => ({ name, kind: 'read-only-storage' as const })),
  ...outputs.map((name) => ({ name, kind: 'storage' as const })),
];

const elementwise = (name: string, inputs: string[]): KernelEntry => ({
  name,
  file: `${name}.wgsl`,
  entryPoint: 'main',
  bindings: io(inputs, ['y']),
  overrides: ['WG'],
  workgroups: (p) => ceilDiv(p.count!, p.WG ?? 64),
});

const fusedConv: KernelEntry = {
  name: 'fused_conv',
  file: 'fused_conv.wgsl',
  entryPoint: 'main',
  bindings: io(['x', 'w', 'b', 'res'], ['y']),
  overrides: ['WG', 'TM', 'TN', 'ACT', 'HAS_RES'],
  workgroups: (p) => ceilDiv(p.N! * p.Ho! * ceilDiv(p.Wo!, p.TM ?? 4) * ceilDiv(p.Cout4!, p.TN ?? 4), p.WG ?? 64),
};

const stem: KernelEntry = {
  name: 'stem',
  file: 'stem.wgsl',
  entryPoint: 'main',
  bindings: io(['x', 'w', 'b'], ['y']),
  overrides: ['WG', 'TM', 'TN'],
  workgroups: (p) => ceilDiv(p.N! * p.Ho! * ceilDiv(p.Wo!, p.TM ?? 4) * ceilDiv(p.Cout4!, p.TN ?? 2), p.WG ?? 64),
};

const dwconv: KernelEntry = {
  name: 'dwconv',
  file: 'dwconv.wgsl',
  entryPoint: 'main',
  bindings: io(['x', 'w', 'b'], ['y', 'part']),
  overrides: ['K', 'S', 'TW', 'WG', 'SQUEEZE'],
  workgroups: (p) => ceilDiv(p.count!, p.WG ?? 64),
};

const dwconvCompact: KernelEntry = {
  name: 'dwconv_compact',
  file: 'dwconv_compact.wgsl',
  entryPoint: 'main',
  bindings: io(['x', 'w', 'b'], ['y', 'part']),
  overrides: ['WG'],
  workgroups: (p) => ceilDiv(p.count!, p.WG ?? 64),
};

const seExcite: KernelEntry = {
  name: 'se_excite',
  file: 'se_excite.wgsl',
  entryPoint: 'main',
  bindings: io(['part', 'w1', 'b1', 'w2', 'b2'], ['se']),
  overrides: ['WG'],
  workgroups: (p) => p.N!,
};

// Bindings params, x, y and ceil(count / WG) workgroups: the elementwise shape.
const pool = elementwise('pool', ['x']);

// One workgroup per row.
const softmax: KernelEntry = { ...elementwise('softmax', ['x']), workgroups: (p) => p.N! };

const pointwise: KernelEntry = {
  name: 'pointwise',
  file: 'pointwise.wgsl',
  entryPoint: 'main',
  bindings: io(['x', 'w', 'b', 'se', 'res'], ['y']),
  overrides: ['TM', 'TN', 'WG', 'ACT', 'SE_SCALE', 'HAS_RES'],
  workgroups: (p) => ceilDiv(ceilDiv(p.M!, p.TM ?? 8) * ceilDiv(p.N4!, p.TN ?? 4), p.WG ?? 64),
};

// One invocation per output pixel of one image.
const preprocess: KernelEntry = {
  name: 'preprocess',
  file: 'preprocess.wgsl',
  entryPoint: 'main',
  bindings: io(['src'], ['y']),
  overrides: ['WG', 'MODE', 'ANTIALIAS'],
  workgroups: (p) => ceilDiv(p.outH! * p.outW!, p.WG ?? 64),
};

export const KERNELS: readonly KernelEntry[] = [dwconv, dwconvCompact, seExcite, pool, softmax, elementwise('silu', ['x']), elementwise('add', ['a', 'b']), elementwise('channel_scale', ['x', 'se']), fusedConv, stem, pointwise, preprocess];

const byName = new Map(KERNELS.map((k) => [k.name, k]));

export function kernelEntry(name: string): KernelEntry {
  const k = byName.get(name);
  if (!k) throw new EffnetError('KERNEL_REGISTRY', `no kernel named '${name}' (known: ${[...byName.keys()].join(', ')})`);
  return k;
}

const INCLUDE = /^\s*\/\/!include\s+(\S+)\s*$/gm;

/**
 * A kernel's WGSL with its `//!include lib/x.wgsl` lines replaced by the shared library files. Each
 * library file is included at most once per kernel, so two includes of the same helper cannot collide.
 */
export function kernelSource(entry: KernelEntry): string {
  const text = KERNEL_SOURCES[entry.file];
  if (text === undefined) throw new EffnetError('KERNEL_REGISTRY', `kernel '${entry.name}': no source file ${entry.file}`);
  const seen = new Set<string>();
  const expand = (src: string, from: string): string =>
    src.replace(INCLUDE, (_, lib: string) => {
      if (seen.has(lib)) return '';
      seen.add(lib);
      const body = LIB_SOURCES[lib];
      if (body === undefined) throw new EffnetError('KERNEL_REGISTRY', `${from}: include of unknown file ${lib}`);
      return expand(body, lib);
    });
  return expand(text, entry.file);
}
