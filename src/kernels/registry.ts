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

const elementwise = (name: string, inputs: string[]): KernelEntry => ({
  name,
  file: `${name}.wgsl`,
  entryPoint: 'main',
  bindings: [
    { name: 'params', kind: 'uniform' },
    ...inputs.map((n) => ({ name: n, kind: 'read-only-storage' as const })),
    { name: 'y', kind: 'storage' },
  ],
  overrides: ['WG'],
  workgroups: (p) => ceilDiv(p.count!, p.WG ?? 64),
});

export const KERNELS: readonly KernelEntry[] = [elementwise('silu', ['x']), elementwise('add', ['a', 'b'])];

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
