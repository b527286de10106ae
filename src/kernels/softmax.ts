/** Row softmax over the classifier's logits (kernels/softmax.wgsl): the launch planner, and top-k on the CPU. */
import { EffnetError } from '../errors.js';
import { FALLBACK_TARGET, type LaunchTarget, launchOf } from './launch.js';
import { asRead, num, random } from './cases.js';
import { PROBE_IMAGES, type KernelOp } from './op.js';
import { softmaxRef } from '../reference/pool.js';
import { TOL } from '../reference/tolerances.js';

export interface SoftmaxShape {
  /** Rows (images). */
  N: number;
  /** Classes; each row is stored in ceil(K/4) vec4s, the logits first and the padding lanes after. */
  K: number;
}

/** One launch serves every target. */
export function softmaxLaunch(shape: SoftmaxShape, _target: LaunchTarget = FALLBACK_TARGET) {
  const uniforms = { N: shape.N, K: shape.K, K4: Math.ceil(shape.K / 4) };
  // A power of two, as the tree reduction needs; 256 would idle most invocations on 1000 classes.
  const overrides = { WG: 64 };
  return launchOf('softmax', uniforms, overrides);
}

export interface TopEntry {
  index: number;
  prob: number;
}

/**
 * The k largest entries of one row of probabilities (pass the row's K values, without the padding
 * lanes), largest first; ties keep the lower class index first.
 */
export function topK(probs: ArrayLike<number>, k: number): TopEntry[] {
  if (!Number.isInteger(k) || k < 0) throw new EffnetError('INPUT', `topK: k must be a non-negative integer, got ${k}`);
  const order = Array.from({ length: probs.length }, (_, i) => i);
  order.sort((a, b) => probs[b]! - probs[a]! || a - b);
  return order.slice(0, k).map((index) => ({ index, prob: probs[index]! }));
}

/** The classifier's softmax op. */
export const softmaxOp: KernelOp = {
  name: 'softmax',
  kernels: ['softmax'],
  benchable: false,
  case(_kernel, u, _o, seed) {
    const [N, K, K4] = ['N', 'K', 'K4'].map((f) => num(u, f)) as [number, number, number];
    const logits = random(N * K, seed, -10, 10);
    // Rows of K4·4 lanes, the padding holding garbage the kernel must ignore; it writes 0 there.
    const x = new Float32Array(N * K4 * 4).fill(1e30);
    const want = new Float64Array(N * K4 * 4);
    const p = softmaxRef(logits, N, K);
    for (let n = 0; n < N; n++) {
      x.set(logits.subarray(n * K, (n + 1) * K), n * K4 * 4);
      want.set(p.subarray(n * K, (n + 1) * K), n * K4 * 4);
    }
    return { buffers: { x, y: N * K4 * 16 }, outputs: [{ label: 'y', binding: 'y', got: asRead(), want, tol: TOL.elementwise }] };
  },
  probe(l) {
    const K = Math.min(l.uniforms.K as number, 37);
    return { N: PROBE_IMAGES, K, K4: Math.ceil(K / 4) };
  },
};
