/**
 * What a kernel case is — one launch of a kernel as test data: seeded inputs made from the launch's uniforms
 * (dense, in torchvision layouts), packed into the buffers the kernel binds by the engine's own packers, and the
 * float64 CPU reference of the outputs (src/reference/) in the layout the kernel writes; each op's module
 * makes its own (KernelOp.case). Every channel lane is a real channel
 * (C = 4·C4): uniforms carry padded counts, and so the layouts have no padding to keep zero. `effnet
 * kernel-bench` checks a user's kernel with these cases at the model's shapes, and the on-device self-test
 * (src/runtime/self-test.ts) checks each of our compiled variants with one at a small shape.
 */
import { EffnetError } from '../errors.js';
import { seededUniform } from '../prng.js';
import { padGeometry, type Padding } from '../reference/dwconv.js';
import type { Tolerance } from '../reference/tolerances.js';
import type { UniformValues } from './reflect.js';

/** One output the case checks: the values read from binding `binding`, reduced by `got`, against `want`. */
export interface CaseOutput {
  label: string;
  binding: string;
  got(read: Float32Array): ArrayLike<number>;
  want: Float64Array;
  tol: Tolerance;
}

export interface ShapeCase {
  /** Storage bindings: data to upload, or a byte size for an output that starts zeroed. */
  buffers: Record<string, Float32Array | number>;
  outputs: CaseOutput[];
}

/** `n` seeded values uniform in [lo, hi) (src/prng.ts), so a case is the same data in Node and in Chromium. */
export function random(n: number, seed: number, lo: number, hi: number): Float32Array {
  const next = seededUniform(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * next();
  return out;
}

/** A numeric uniform of a case's launch. */
export const num = (u: UniformValues, k: string): number => u[k] as number;
/** An output read back as the reference has it. */
export const asRead = (): ((r: Float32Array) => Float32Array) => (r) => r;

/** Which padding rule produced (out, before) for a k×k stride-s conv over `size` (the reference recomputes it). */
export function paddingOf(size: number, k: number, s: number, out: number, before: number): Padding {
  for (const p of ['symmetric', 'same'] as const) {
    const g = padGeometry(size, k, s, p);
    if (g.out === out && g.before === before) return p;
  }
  throw new EffnetError('INPUT', `no padding rule gives ${out} outputs with ${before} before for size ${size}, k ${k}, stride ${s}`);
}
