/** Global average pool of the head (kernels/pool.wgsl, pool_subgroup.wgsl): the launch planner (no weights). */
import { FALLBACK_TARGET, type Launch, type LaunchTarget } from './launch.js';
import { kernelEntry } from './registry.js';

export interface PoolShape {
  N: number;
  C: number;
  H: number;
  W: number;
}

/**
 * A hardware GPU with subgroups reduces each (image, channel vec4) in a workgroup of its own (`pool_subgroup`):
 * at batch 1 the plain kernel's one invocation per channel vec4 is a few hundred invocations in all.
 */
export function poolLaunch(shape: PoolShape, target: LaunchTarget = FALLBACK_TARGET) {
  const C4 = Math.ceil(shape.C / 4);
  const uniforms = { count: shape.N * C4, C4, HW: shape.H * shape.W };
  const kernel = !target.isFallback && target.subgroups ? 'pool_subgroup' : 'pool';
  const overrides = { WG: 64 };
  return { kernel, overrides, uniforms, workgroups: kernelEntry(kernel).workgroups({ ...uniforms, ...overrides }) } satisfies Launch;
}
