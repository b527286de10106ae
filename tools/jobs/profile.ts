/** `effnet profile`'s job: per-stage (and with `detail` per-kernel) GPU latency of one architecture (src/profile.ts). */
import { loadModel } from '../../src/api.js';
import { formatAdapter } from '../../src/gpu.js';
import { getArch, withFusedStages } from '../../src/model/tables.js';
import { profileModel, type Profile, type ProfileOptions } from '../../src/profile.js';
import type { TuningSource } from '../../src/tuning/file.js';
import type { JobHost } from './host.js';

export interface ProfileJob {
  baseArch: string;
  /** withFusedStages(baseArch, fusedStages), or baseArch itself when null. */
  fusedStages: number | null;
  weights: string;
  target: 'auto' | 'gpu' | 'fallback';
  tuning: TuningSource;
  subgroups: boolean;
  opts: ProfileOptions;
}

export async function profileJob(job: ProfileJob, host: JobHost): Promise<Profile> {
  const arch = job.fusedStages === null ? getArch(job.baseArch) : withFusedStages(job.baseArch, job.fusedStages);
  const model = await loadModel({ backend: 'webgpu', arch, weights: job.weights, target: job.target, tuning: job.tuning, subgroups: job.subgroups });
  try {
    host.log(`${model.spec.name} ${host.where(`${job.weights} weights`)} on ${formatAdapter(model.gpu.report)}`);
    return await profileModel(model, { ...job.opts, log: (s) => host.log(s) });
  } finally {
    model.dispose();
  }
}
