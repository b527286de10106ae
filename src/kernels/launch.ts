/**
 * What every launch planner returns and takes: one `Launch` shape for every kernel, and the `LaunchTarget`
 * it plans for. The executor, the benchmarks and the tests record a planned launch with `encodeDispatch`.
 */
import type { Overrides } from './library.js';
import type { UniformValues } from './reflect.js';
import { kernelEntry } from './registry.js';
import type { TuningChoices } from './tuning.js';
import type * as web from '../platform-types.js';

/**
 * Workgroups a launch needs to give every SM of a large GPU one (an H100 has 132): a launch with fewer leaves SMs
 * idle however fast each runs, so at batch 1 such launches are bound by their serial chains. The GPU planners
 * aim above it; `effnet plan` names every launch below it.
 */
export const WIDE_LAUNCH_WORKGROUPS = 132;

/**
 * What the planner needs to know: a software adapter (SwiftShader) or a real GPU, and which tier of
 * pipelines it plans for. 'tuned' (the default) picks the fastest tiles for the device; 'quick' picks small
 * tiles and compact kernels whose pipelines compile in a fraction of the time, for the first inference
 * while the tuned pipelines compile (the runtime's quick start). On a hardware GPU (`isFallback` false) the
 * planners pick GPU-shaped launches instead — workgroups of 64–256 invocations (16–32 for a late depthwise layer), at most 64
 * f32 accumulators per invocation, workgroup-memory GEMM tiles split along K where a layer is too small, enough
 * workgroups to fill a large GPU — and the tier only matters
 * where it picks another kernel (their pipelines compile quickly on a GPU).
 */
export interface LaunchTarget {
  isFallback: boolean;
  tier?: 'tuned' | 'quick';
  /** The device runs subgroup operations (the `subgroups` feature), so reductions may use them. */
  subgroups?: boolean;
  /** Tiles measured on this device (`effnet tune`), by tuning key; the tuned tier takes them over the planners' own. */
  tuning?: TuningChoices;
  /**
   * Variants (`kernel|overrides` pipeline keys) that failed the on-device self-test here: a launch takes its next
   * variant instead (src/kernels/variants.ts).
   */
  avoid?: ReadonlySet<string>;
}

/** SwiftShader's tuned tier: what planners assume when a caller (a test, a benchmark) names no target. */
export const FALLBACK_TARGET: LaunchTarget = { isFallback: true };

/** One kernel launch: the kernel, its specialisation, its uniform values (by field name) and its linear workgroup count. */
export interface Launch<U extends UniformValues = UniformValues> {
  kernel: string;
  overrides: Overrides;
  uniforms: U;
  /** Linear workgroup count; KernelLibrary.grid folds it into x/y. */
  workgroups: number;
}

/** What a kernel's header lines (Dispatch, Accumulators, Serial) read of a launch: its scalar uniforms, then its overrides. */
export function headerValues(uniforms: UniformValues, overrides: Overrides): Record<string, number> {
  const values: Record<string, number> = {};
  for (const [k, v] of Object.entries(uniforms)) if (typeof v === 'number') values[k] = v;
  return Object.assign(values, overrides);
}

/** A launch of `kernel`, its workgroup count from the kernel's `// Dispatch:` line. */
export function launchOf<U extends UniformValues>(kernel: string, uniforms: U, overrides: Overrides): Launch<U> {
  return { kernel, overrides, uniforms, workgroups: kernelEntry(kernel).workgroups(headerValues(uniforms, overrides)) };
}

/** A launch made into GPU objects, ready to record. */
export interface Dispatch {
  pipeline: web.GPUComputePipeline;
  bindGroup: web.GPUBindGroup;
  grid: readonly [number, number, number];
}

/** The one place a dispatch is recorded. */
export function encodeDispatch(pass: web.GPUComputePassEncoder, d: Dispatch): void {
  pass.setPipeline(d.pipeline);
  pass.setBindGroup(0, d.bindGroup);
  pass.dispatchWorkgroups(d.grid[0], d.grid[1], d.grid[2]);
}
