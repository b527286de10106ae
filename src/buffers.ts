/**
 * The one way this engine sizes and makes GPU buffers (weights, the activation arena, staging, uniforms,
 * test and benchmark buffers). WebGPU wants sizes in multiples of 4 and rejects zero-size bindings; vec4
 * kernels read whole 16-byte vectors, so every buffer is rounded up to 16 bytes, at least 16.
 */
import { EffnetError } from './errors.js';
import type * as web from './platform-types.js';

export const bufferBytes = (bytes: number): number => Math.max(16, Math.ceil(bytes / 16) * 16);

/**
 * A buffer of `bytes` (rounded by bufferBytes), refused with LIMIT_EXCEEDED when a storage binding of it
 * would exceed the device's maxStorageBufferBindingSize (`hint` says what the caller can do about it);
 * `data` is uploaded when given.
 */
export function createBuffer(
  device: web.GPUDevice,
  o: { label: string; bytes: number; usage: number; data?: ArrayBufferView; hint?: string },
): web.GPUBuffer {
  const size = bufferBytes(o.bytes);
  if (o.usage & GPUBufferUsage.STORAGE && size > device.limits.maxStorageBufferBindingSize) {
    throw new EffnetError(
      'LIMIT_EXCEEDED',
      `${o.label}: needs a ${size}-byte storage buffer, above this device's maxStorageBufferBindingSize (${device.limits.maxStorageBufferBindingSize})${o.hint ? `; ${o.hint}` : ''}`,
    );
  }
  const buf = device.createBuffer({ label: o.label, size, usage: o.usage });
  if (o.data) device.queue.writeBuffer(buf, 0, o.data.buffer as ArrayBuffer, o.data.byteOffset, Math.floor(o.data.byteLength / 4) * 4);
  return buf;
}

/** A storage buffer holding `data` (or `data` zeroed bytes), readable back and writable by copies. */
export function storageBuffer(device: web.GPUDevice, data: ArrayBufferView | number, label: string, extraUsage = 0): web.GPUBuffer {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC | extraUsage;
  return typeof data === 'number' ? createBuffer(device, { label, bytes: data, usage }) : createBuffer(device, { label, bytes: data.byteLength, usage, data });
}

/** Copy `bytes` bytes of `src` back to the CPU; the staging buffer is destroyed before returning. */
export async function readBuffer(device: web.GPUDevice, src: web.GPUBuffer, bytes = src.size, offset = 0): Promise<ArrayBuffer> {
  const size = Math.ceil(bytes / 4) * 4;
  const staging = device.createBuffer({ label: `${src.label}.readback`, size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(src, offset, staging, 0, size);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return staging.getMappedRange().slice(0, bytes);
  } finally {
    staging.destroy();
  }
}
