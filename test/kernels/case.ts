/**
 * Kernel test cases are data: a name, the kernel, tags that pick where they run, and a `run` that
 * computes the GPU result and the float64 CPU reference and compares them. The same cases run in
 * Node (test/kernels.node.test.ts) and in headless Chromium (test/kernels.chrome.test.ts).
 */
import type { KernelLibrary } from '../../src/kernels/library.js';
import type { Comparison } from '../../src/reference/compare.js';

export type CaseTag = 'b0' | 'v2s' | 'awkward' | 'chrome';

export interface KernelCase {
  name: string;
  kernel: string;
  tags: CaseTag[];
  /** Device features the kernel needs; where the device lacks one the case is skipped, not passed. */
  needs?: GPUFeatureName[];
  run(lib: KernelLibrary): Promise<Comparison[]>;
}

export interface CaseResult {
  name: string;
  ok: boolean;
  /** The device lacks a feature the case needs (KernelCase.needs): it did not run. */
  skipped?: boolean;
  messages: string[];
  ms: number;
}

export async function runCase(lib: KernelLibrary, c: KernelCase): Promise<CaseResult> {
  const t0 = performance.now();
  try {
    const comps = await c.run(lib);
    return { name: c.name, ok: comps.length > 0 && comps.every((x) => x.ok), messages: comps.map((x) => x.message), ms: performance.now() - t0 };
  } catch (e) {
    return { name: c.name, ok: false, messages: [`threw: ${(e as Error).message}`], ms: performance.now() - t0 };
  }
}
