/**
 * The schedule made inspectable without a GPU: every launch an inference of `spec` at a resolution and batch
 * would record for a target, with its kernel, specialisation, workgroup shape and register pressure. This is
 * what `effnet plan` prints and what tests hold the hardware-GPU target to (64–256 invocations per workgroup,
 * 16–32 for late depthwise layers, at most 64 f32 accumulators per invocation). The same plan decides, before a model copies an input or compiles
 * anything, whether a device's limits can hold and dispatch it (checkScheduleLimits).
 */
import { bufferBytes } from '../buffers.js';
import { EffnetError } from '../errors.js';
import { headerValues, type LaunchTarget, WIDE_LAUNCH_WORKGROUPS } from '../kernels/launch.js';
import { foldWorkgroups, type Overrides } from '../kernels/library.js';
import { kernelEntry } from '../kernels/registry.js';
import { layerOps } from '../model/layers.js';
import { paramTensors } from '../model/ops.js';
import type { ArchSpec } from '../model/tables.js';
import { assembleParams } from '../weights/params.js';
import { buildGraph, packModel } from './builder.js';
import type { Graph, Op } from './graph.js';

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
  /** The longest chain of dependent steps one invocation walks (the kernel's `// Serial:` line). */
  serialSteps: number;
  flops: number;
  bytes: number;
}

export { WIDE_LAUNCH_WORKGROUPS };

/** The latency structure of a schedule: what bounds batch-1 time on a GPU wide enough for every launch. */
export interface PlanTotals {
  /** Dispatches, each a barrier for the next. */
  dispatches: number;
  /** Launches of fewer than WIDE_LAUNCH_WORKGROUPS workgroups, by op, with why: their `// Dispatch:` line and its values. */
  narrow: { op: string; workgroups: number; dispatch: string }[];
  /** serialSteps summed along the schedule: the dependent chain of one inference with unlimited parallelism. */
  serialSteps: number;
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
  totals: PlanTotals;
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
  const launches = graph.ops.map((op): PlannedLaunch => {
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
      serialSteps: entry.serialSteps(headerValues(op.uniforms, op.overrides)),
      flops: op.flops,
      bytes: op.bytes,
    };
  });
  const sum = (f: (l: PlannedLaunch) => number) => launches.reduce((a, l) => a + f(l), 0);
  return {
    arch: spec.name,
    res,
    batch,
    target: o.target.isFallback ? 'fallback' : 'gpu',
    tier: o.target.tier ?? 'tuned',
    subgroups: !!o.target.subgroups,
    launches,
    totals: {
      dispatches: launches.length,
      narrow: graph.ops
        .filter((op) => op.workgroups < WIDE_LAUNCH_WORKGROUPS)
        .map((op) => ({ op: op.name, workgroups: op.workgroups, dispatch: kernelEntry(op.kernel).dispatchFormula(headerValues(op.uniforms, op.overrides)) })),
      serialSteps: sum((l) => l.serialSteps),
      flops: sum((l) => l.flops),
      bytes: sum((l) => l.bytes),
    },
  };
}

/** The device limits a schedule has to fit. */
export interface ScheduleLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
}

/**
 * LIMIT_EXCEEDED naming the first thing of `graph` that a device with `limits` cannot run: a tensor (the input or
 * an activation; each is bound whole, and an arena slot is as large as its largest tenant) above one storage
 * binding or buffer, or a launch whose workgroups do not fold into a dispatch. Decided from the planned shapes
 * alone, so a model refuses such an input before copying it, compiling a pipeline or allocating a buffer;
 * `what` names the input in the message.
 */
export function checkScheduleLimits(graph: Graph, limits: ScheduleLimits, what: string): void {
  const [limit, name] =
    limits.maxBufferSize < limits.maxStorageBufferBindingSize
      ? [limits.maxBufferSize, 'maxBufferSize']
      : [limits.maxStorageBufferBindingSize, 'maxStorageBufferBindingSize'];
  const largest = graph.tensors.reduce((a, t) => (t.bytes > a.bytes ? t : a));
  if (bufferBytes(largest.bytes) > limit) {
    throw new EffnetError(
      'LIMIT_EXCEEDED',
      `${what}: tensor ${largest.name} needs a ${bufferBytes(largest.bytes)}-byte storage buffer, above this device's ${name} (${limit}); use a smaller batch or resolution`,
    );
  }
  const max = limits.maxComputeWorkgroupsPerDimension;
  const op = graph.ops.find((o) => !foldWorkgroups(o.workgroups, max));
  if (op) throw new EffnetError('LIMIT_EXCEEDED', `${what}: ${op.name} dispatches ${op.workgroups} workgroups, more than this device's ${max}²; use a smaller batch or resolution`);
}
