/** Global average pool of the head (kernels/pool.wgsl): the launch planner (no weights). */
import { FALLBACK_TARGET, type Launch, type LaunchTarget } from './launch.js';
import { kernelEntry } from './registry.js';

export interface PoolShape {
  N: number;
  C: number;
  H: number;
  W: number;
}

/** One launch serves every target. */
export function poolLaunch(shape: PoolShape, _target: LaunchTarget = FALLBACK_TARGET) {
  const C4 = Math.ceil(shape.C / 4);
  const uniforms = { count: shape.N * C4, C4, HW: shape.H * shape.W };
  const overrides = { WG: 64 };
  return { kernel: 'pool', overrides, uniforms, workgroups: kernelEntry('pool').workgroups({ ...uniforms, ...overrides }) } satisfies Launch;
}
