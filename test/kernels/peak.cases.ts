/**
 * The roofline probes (kernels/peak_fma.wgsl, kernels/peak_copy.wgsl) against float64: kernel-bench's ceilings
 * are only as good as the work they time, so a probe that skipped rounds or vec4s would inflate them.
 */
import type { KernelCase } from './case.js';
import { compare } from '../../src/reference/compare.js';
import { TOL } from '../../src/reference/tolerances.js';
import { peakCopyLaunch, peakFmaLaunch, peakFmaRef } from '../../src/kernels/peak.js';
import { dispatchOnce } from '../support/dispatch.js';
import { randomF32 } from '../support/tensor.js';

// Counts that leave the last workgroup ragged (WG 64) and, for the copy, a last block short of PER.
const FMA = [
  { count: 1000, iters: 37 },
  { count: 5, iters: 1 },
];
const COPY = [1001, 3, 256];

export const peakCases: KernelCase[] = [
  ...FMA.map(({ count, iters }): KernelCase => ({
    name: `peak_fma ${count} vec4s × ${iters} rounds`,
    kernel: 'peak_fma',
    tags: ['awkward', 'chrome'],
    async run(lib) {
      const x = randomF32(count * 4, 5, 2);
      const l = peakFmaLaunch(count, iters);
      const { y } = await dispatchOnce(lib, { kernel: l.kernel, overrides: l.overrides, uniforms: l.uniforms, buffers: { x, y: x.byteLength }, read: ['y'] });
      return [compare(y!, peakFmaRef(x, iters), TOL.chain, `peak_fma ${count}×${iters}`)];
    },
  })),
  ...COPY.map((count): KernelCase => ({
    name: `peak_copy ${count} vec4s`,
    kernel: 'peak_copy',
    tags: ['awkward'],
    async run(lib) {
      const x = randomF32(count * 4, 9, 1);
      const l = peakCopyLaunch(count);
      const { y } = await dispatchOnce(lib, { kernel: l.kernel, overrides: l.overrides, uniforms: l.uniforms, buffers: { x, y: x.byteLength }, read: ['y'] });
      return [compare(y!, Array.from(x), TOL.exact, `peak_copy ${count}`)];
    },
  })),
];
