/** Global average pool of the head (kernels/pool.wgsl, pool_subgroup.wgsl): the launch planner (no weights). */
import { FALLBACK_TARGET, type LaunchTarget, launchOf } from './launch.js';
import { asRead, num, random } from './cases.js';
import { PROBE_IMAGES, type KernelOp } from './op.js';
import { avgPoolRef } from '../reference/pool.js';
import { TOL } from '../reference/tolerances.js';

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
  return launchOf(kernel, uniforms, overrides);
}

/** The head's pool op: `pool`, and `pool_subgroup` where the device has subgroups. */
export const poolOp: KernelOp = {
  name: 'pool',
  kernels: ['pool', 'pool_subgroup'],
  benchable: true,
  case(_kernel, u, _o, seed) {
    const [count, C4, HW] = ['count', 'C4', 'HW'].map((f) => num(u, f)) as [number, number, number];
    const [N, C] = [count / C4, 4 * C4];
    const x = random(N * HW * C, seed, -2, 2);
    return { buffers: { x, y: N * C * 4 }, outputs: [{ label: 'y', binding: 'y', got: asRead(), want: avgPoolRef(x, N, HW, C), tol: TOL.reduction }] };
  },
  probe(l) {
    const u = l.uniforms as Record<string, number>;
    const C4 = Math.min(u.C4!, 5);
    return { count: PROBE_IMAGES * C4, C4, HW: Math.min(u.HW!, 2 * l.overrides.WG! + 3) };
  },
  plain: (l) => launchOf('pool', l.uniforms, { WG: 64 }),
};
