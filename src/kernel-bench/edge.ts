/**
 * Edge launches: what a model's own shapes may never exercise, made per pipeline the model runs for the op (same
 * kernel and overrides, so our side runs the very pipeline it runs in the network). Every op gets its self-test
 * probe (KernelOp.probe: two images, a ragged last tile or strip, a row block cut short where the launch has rows
 * to cut) and whatever its module adds (KernelOp.edges: TensorFlow SAME padding at stride 2, a last strip cut
 * short at widths every common resolution divides).
 */
import { pipelineKey } from '../kernels/library.js';
import { PROBE_IMAGES } from '../kernels/op.js';
import { opOfKernel } from '../kernels/ops.js';
import type { UniformValues } from '../kernels/reflect.js';
import type { OpView } from '../runtime/instrument.js';

export interface EdgeLaunch {
  /** The model op whose pipeline (kernel and overrides) runs this launch. */
  like: OpView;
  uniforms: UniformValues;
  /** What the launch exercises, for the report. */
  why: string;
}

/** One model op per distinct pipeline: its largest, whose probe keeps the most of what a launch can take (ragged tiles). */
function pipelines(ops: readonly OpView[]): OpView[] {
  const seen = new Map<string, OpView>();
  for (const op of ops) {
    const key = pipelineKey(op.kernel, op.overrides);
    const had = seen.get(key);
    if (!had || op.flops > had.flops) seen.set(key, op);
  }
  return [...seen.values()];
}

/** The edge launches for `ops` (the model's launches of one op kind). */
export function edgeLaunches(ops: readonly OpView[]): EdgeLaunch[] {
  const out: EdgeLaunch[] = [];
  for (const like of pipelines(ops)) {
    const op = opOfKernel(like.kernel)!;
    const launch = { kernel: like.kernel, overrides: like.overrides, uniforms: like.uniforms, workgroups: 0 };
    out.push({ like, uniforms: op.probe(launch), why: `self-test probe: ${PROBE_IMAGES} images, ragged last tile or strip, a block cut short where the launch is that large` });
    for (const e of op.edges?.(launch) ?? []) out.push({ like, ...e });
  }
  return out;
}
