/**
 * The schedule made inspectable without a GPU: every launch an inference of `spec` at a resolution and batch
 * would record for a target, with its kernel, specialisation, workgroup shape and register pressure. This is
 * what `effnet plan` prints and what tests hold the hardware-GPU target to (64–256 invocations per workgroup,
 * at most 64 f32 accumulators per invocation).
 */
import type { LaunchTarget } from '../kernels/launch.js';
import type { Overrides } from '../kernels/library.js';
import { kernelEntry } from '../kernels/registry.js';
import { layerOps } from '../model/layers.js';
import { paramTensors } from '../model/ops.js';
import type { ArchSpec } from '../model/tables.js';
import { assembleParams } from '../weights/params.js';
import { buildGraph, packModel } from './builder.js';
import type { Op } from './graph.js';

export interface PlannedLaunch {
  /** The graph op, e.g. 'features.2.0.dwconv'. */
  op: string;
  kernel: string;
  overrides: Overrides;
  workgroupSize: number;
  workgroups: number;
  invocations: number;
  /** f32 accumulators one invocation keeps live (its register tile). */
  accumulators: number;
  flops: number;
  bytes: number;
}

export interface SchedulePlan {
  arch: string;
  res: number;
  batch: number;
  target: 'gpu' | 'fallback';
  tier: 'tuned' | 'quick';
  subgroups: boolean;
  launches: PlannedLaunch[];
}

/** The graph ops (launches with their uniforms and bindings) of one inference, planned without a GPU. */
export function plannedOps(spec: ArchSpec, o: { res?: number; batch?: number; target: LaunchTarget; layout?: 'nchw' | 'nhwc'; softmax?: boolean }): Op[] {
  const res = o.res ?? spec.resolution;
  // Launches depend on shapes only; zero weights of the right sizes stand in for real ones.
  const zeros = assembleParams(paramTensors(layerOps(spec)), (t) => ({
    weight: new Float32Array(t.shape.reduce((a, b) => a * b, 1)),
    shape: t.shape,
    bias: new Float32Array(t.shape[0]!),
  }));
  return buildGraph(spec, packModel(spec, zeros), {
    batch: o.batch ?? 1, height: res, width: res, layout: o.layout ?? 'nchw', keepStages: false, softmax: o.softmax ?? false, target: o.target,
  }).ops;
}

export function planSchedule(spec: ArchSpec, o: { res?: number; batch?: number; target: LaunchTarget }): SchedulePlan {
  const res = o.res ?? spec.resolution;
  const batch = o.batch ?? 1;
  const graph = { ops: plannedOps(spec, { res, batch, target: o.target }) };
  return {
    arch: spec.name,
    res,
    batch,
    target: o.target.isFallback ? 'fallback' : 'gpu',
    tier: o.target.tier ?? 'tuned',
    subgroups: !!o.target.subgroups,
    launches: graph.ops.map((op) => {
      const entry = kernelEntry(op.kernel);
      const workgroupSize = entry.workgroupSize(op.overrides);
      return {
        op: op.name,
        kernel: op.kernel,
        overrides: op.overrides,
        workgroupSize,
        workgroups: op.workgroups,
        invocations: op.workgroups * workgroupSize,
        accumulators: entry.accumulators(op.overrides),
        flops: op.flops,
        bytes: op.bytes,
      };
    }),
  };
}
