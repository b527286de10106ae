/**
 * The unfused reference path (kernels/elementwise.wgsl): its operations by name, read from the kernel's header
 * lines `OP <n> (<name>)`, so the values its OP override takes are written once, in the WGSL.
 */
import { EffnetError } from '../errors.js';
import { kernelEntry } from './registry.js';

export type ElementwiseOp = 'silu' | 'add' | 'scale';

let ops: Readonly<Record<ElementwiseOp, number>> | undefined;

/** The OP override value of each operation of kernels/elementwise.wgsl. */
export function elementwiseOp(name: ElementwiseOp): number {
  if (!ops) {
    const found = Object.fromEntries([...kernelEntry('elementwise').source.matchAll(/^\/\/\s+OP (\d+) \((\w+)\):/gm)].map((m) => [m[2]!, Number(m[1])]));
    for (const want of ['silu', 'add', 'scale']) {
      if (!(want in found)) throw new EffnetError('KERNEL_REGISTRY', `kernels/elementwise.wgsl: no 'OP <n> (${want}):' header line`);
    }
    ops = found as Record<ElementwiseOp, number>;
  }
  return ops[name];
}
