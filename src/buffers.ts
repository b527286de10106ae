/** Small GPU buffer helpers used by the runtime, the tests and the benchmarks. */
import { EffnetError } from './errors.js';

export function storageBuffer(device: GPUDevice, data: ArrayBufferView | number, label: string, extraUsage = 0): GPUBuffer {
  const bytes = typeof data === 'number' ? data : data.byteLength;
  // WebGPU wants sizes in multiples of 4; zero-size bindings are invalid, so keep at least 16 bytes.
  const size = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (size > device.limits.maxStorageBufferBindingSize) {
    throw new EffnetError(
      'LIMIT_EXCEEDED',
      `${label}: needs a ${size}-byte storage buffer, above this device's maxStorageBufferBindingSize (${device.limits.maxStorageBufferBindingSize})`,
    );
  }
  const buf = device.createBuffer({ label, size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC | extraUsage });
  if (typeof data !== 'number') device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, Math.floor(data.byteLength / 4) * 4);
  return buf;
}

/** Copy `bytes` bytes of `src` back to the CPU; the staging buffer is destroyed before returning. */
export async function readBuffer(device: GPUDevice, src: GPUBuffer, bytes = src.size, offset = 0): Promise<ArrayBuffer> {
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
