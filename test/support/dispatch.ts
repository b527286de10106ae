/**
 * Run one kernel once on fresh buffers and read chosen bindings back. Used by the kernel cases in Node
 * and in Chromium alike; every buffer it makes is destroyed before it returns, also on failure.
 */
import type { KernelLibrary, Overrides } from '../../src/kernels/library.js';
import type { UniformValues } from '../../src/kernels/reflect.js';
import { readBuffer, storageBuffer } from '../../src/buffers.js';
import { encodeDispatch } from '../../src/kernels/launch.js';
import { EffnetError } from '../../src/errors.js';

export interface DispatchSpec {
  kernel: string;
  overrides?: Overrides;
  uniforms: UniformValues;
  /** Storage bindings: data to upload, or a byte size for an output that starts zeroed. */
  buffers: Record<string, Float32Array | Uint32Array | number>;
  read: string[];
}

export async function dispatchOnce(lib: KernelLibrary, spec: DispatchSpec): Promise<Record<string, Float32Array>> {
  const { device } = lib;
  const made: GPUBuffer[] = [];
  device.pushErrorScope('validation');
  let scopeOpen = true;
  try {
    const pipeline = await lib.pipeline(spec.kernel, spec.overrides ?? {});
    const entry = lib.entry(spec.kernel);
    const resources: Record<string, GPUBuffer> = {};
    for (const b of entry.bindings) {
      if (b.kind === 'uniform') {
        resources[b.name] = lib.uniformBuffer(spec.kernel, spec.uniforms);
      } else {
        const data = spec.buffers[b.name];
        if (data === undefined) throw new EffnetError('KERNEL_REGISTRY', `${spec.kernel}: no data for binding ${b.name}`);
        resources[b.name] = storageBuffer(device, data, `${spec.kernel}.${b.name}`);
      }
      made.push(resources[b.name]!);
    }
    // Every dispatch formula reads only uniform fields and overrides (test/registry.test.ts checks it).
    const numeric = Object.fromEntries(Object.entries(spec.uniforms).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
    const grid = lib.workgroups(spec.kernel, { ...numeric, ...spec.overrides });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    encodeDispatch(pass, { pipeline, bindGroup: lib.bindGroup(spec.kernel, resources), grid });
    pass.end();
    device.queue.submit([enc.finish()]);
    const out: Record<string, Float32Array> = {};
    for (const name of spec.read) {
      const b = resources[name]!;
      const data = spec.buffers[name]!;
      const bytes = typeof data === 'number' ? data : data.byteLength;
      out[name] = new Float32Array(await readBuffer(device, b, bytes));
    }
    const err = await device.popErrorScope();
    scopeOpen = false;
    if (err) throw new EffnetError('GPU_VALIDATION', `${spec.kernel}: ${err.message}`);
    return out;
  } catch (e) {
    if (scopeOpen) await device.popErrorScope().catch(() => undefined);
    throw e;
  } finally {
    for (const b of made) b.destroy();
  }
}
