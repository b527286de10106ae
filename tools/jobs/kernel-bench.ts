/**
 * `effnet kernel-bench`'s job: a user's WGSL kernel for one op, verified against the float64 reference and timed
 * against ours on every distinct layer shape of a model, then swapped into the whole network (src/kernel-bench/).
 */
import { loadModel } from '../../src/api.js';
import { formatAdapter } from '../../src/gpu.js';
import { kernelBench, type KernelBenchOptions, type KernelBenchReport } from '../../src/kernel-bench/bench.js';
import { checkUserKernel, type BenchOp } from '../../src/kernel-bench/contract.js';
import { getArch } from '../../src/model/tables.js';
import type { JobHost } from './host.js';

export interface KernelBenchJob {
  arch: string;
  op: BenchOp;
  /** The kernel's WGSL, and what messages call it (its file name). */
  source: string;
  label: string;
  opts: KernelBenchOptions;
}

export async function kernelBenchJob(job: KernelBenchJob, host: JobHost): Promise<KernelBenchReport> {
  const user = checkUserKernel(job.op, job.source, job.label);
  // Tuned pipelines from the start: the schedule benchmarked is the one every run takes once compiled.
  const model = await loadModel({ backend: 'webgpu', arch: getArch(job.arch), weights: 'random', quickStart: false });
  try {
    host.log(`${model.spec.name} ${host.where('random weights')} on ${formatAdapter(model.gpu.report)}`);
    return await kernelBench(model, user, { ...job.opts, log: (s) => host.log(s) });
  } finally {
    model.dispose();
  }
}
