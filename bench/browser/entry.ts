/** Browser side of the benchmarks: the same code as in Node, on navigator.gpu. */
import { acquireGpu } from '../../src/gpu.js';
import { benchKernels } from '../kernels.js';

const api = {
  async kernels(opts: { archs?: string[]; runs?: number }) {
    const gpu = await acquireGpu();
    try {
      return { adapter: gpu.report, ...(await benchKernels(gpu, { ...opts, log: (s) => console.log(s) })) };
    } finally {
      gpu.destroy();
    }
  },
};

(globalThis as unknown as { effnetBench: typeof api }).effnetBench = api;
