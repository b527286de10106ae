/** Row softmax over the classifier's logits (kernels/softmax.wgsl): the launch planner, and top-k on the CPU. */
import { EffnetError } from '../errors.js';
import { FALLBACK_TARGET, type Launch, type LaunchTarget } from './launch.js';
import { kernelEntry } from './registry.js';

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
  return { kernel: 'softmax', overrides, uniforms, workgroups: kernelEntry('softmax').workgroups({ ...uniforms, ...overrides }) } satisfies Launch;
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
