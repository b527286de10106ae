/** Global average pool of the head (kernels/pool.wgsl): the launch planner (no weights). */
import type { Overrides } from './library.js';
import { kernelEntry } from './registry.js';

export interface PoolShape {
  N: number;
  C: number;
  H: number;
  W: number;
}

export interface PoolLaunch {
  kernel: 'pool';
  overrides: Overrides;
  uniforms: { count: number; C4: number; HW: number };
  /** Linear workgroup count. */
  workgroups: number;
}

export function poolLaunch(shape: PoolShape): PoolLaunch {
  const C4 = Math.ceil(shape.C / 4);
  const uniforms = { count: shape.N * C4, C4, HW: shape.H * shape.W };
  const overrides = { WG: 64 };
  return { kernel: 'pool', overrides, uniforms, workgroups: kernelEntry('pool').workgroups({ ...uniforms, ...overrides }) };
}
