/**
 * The op registry: the list of op modules (src/kernels/op.ts), and what the engine asks of "the op that runs
 * this kernel" — its test case, its self-test probe — answered from that list. The kernel registry
 * (registry.ts) lists the WGSL files; this lists what owns them.
 */
import { EffnetError } from '../errors.js';
import type { ShapeCase } from './cases.js';
import { dwconvOp } from './dwconv.js';
import { fusedConvOp } from './fused_conv.js';
import { launchOf, type Launch } from './launch.js';
import type { Overrides } from './library.js';
import type { KernelOp } from './op.js';
import { pointwiseOp } from './pointwise.js';
import { poolOp } from './pool.js';
import type { UniformValues } from './reflect.js';
import { seExciteOp } from './se.js';
import { softmaxOp } from './softmax.js';
import { stemOp } from './stem.js';

export const KERNEL_OPS: readonly KernelOp[] = [dwconvOp, pointwiseOp, fusedConvOp, stemOp, seExciteOp, poolOp, softmaxOp];

const byKernel = new Map(KERNEL_OPS.flatMap((op) => [...op.kernels, ...(op.otherInterface ?? [])].map((k) => [k, op] as const)));

/** The op whose module owns `kernel`, or undefined for a kernel no schedule runs (the unfused reference path `elementwise`; preprocessing). */
export const opOfKernel = (kernel: string): KernelOp | undefined => byKernel.get(kernel);

/** The op named `name`. */
export function kernelOp(name: string): KernelOp {
  const op = KERNEL_OPS.find((o) => o.name === name);
  if (!op) throw new EffnetError('KERNEL_REGISTRY', `no op named '${name}' (ops: ${KERNEL_OPS.map((o) => o.name).join(', ')})`);
  return op;
}

/** The float64 case of one launch of `kernel` (its uniforms and overrides as the kernel takes them). */
export function kernelCase(kernel: string, u: UniformValues, o: Overrides, seed: number): ShapeCase {
  const op = opOfKernel(kernel);
  if (!op) throw new EffnetError('KERNEL_REGISTRY', `kernel '${kernel}' belongs to no op with a test case`);
  return op.case(kernel, u, o, seed);
}

/**
 * A small known-answer launch for a compiled kernel variant (KernelOp.probe): the same kernel and overrides, so
 * the very same pipeline runs. The on-device self-test (src/runtime/self-test.ts) runs one per variant before a
 * schedule is used. Undefined for a kernel no schedule runs (its own kernel cases test it).
 */
export function probeLaunch(l: Launch): Launch | undefined {
  const op = opOfKernel(l.kernel);
  return op && launchOf(l.kernel, op.probe(l), l.overrides);
}
