/** One Dawn device per test file, with its kernel library; released after the file's tests. */
import { afterAll, beforeAll } from 'vitest';
import { acquireGpu, type Gpu } from '../../src/gpu.js';
import { KernelLibrary } from '../../src/kernels/library.js';

export function useNodeGpu(): { gpu: () => Gpu; lib: () => KernelLibrary } {
  let gpu: Gpu | undefined;
  let lib: KernelLibrary | undefined;
  beforeAll(async () => {
    gpu = await acquireGpu();
    lib = new KernelLibrary(gpu.device);
  });
  afterAll(() => gpu?.destroy());
  return { gpu: () => gpu!, lib: () => lib! };
}
