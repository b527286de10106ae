/**
 * `effnet profile`'s job: per-stage (and with `detail` per-kernel) GPU latency of one architecture (src/profile.ts),
 * or with backend 'cpu' per-stage latency on the CPU runtime (src/cpu/profile.ts: its per-node trace, or a model file per stage).
 */
import { loadModel } from '../../src/api.js';
import { profileCpuModel, type CpuProfile } from '../../src/cpu/profile.js';
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
  /** 'webgpu': our kernels (the default); 'cpu': the CPU runtime; 'auto': whichever loadModel's 'auto' picks here. */
  backend: 'auto' | 'webgpu' | 'cpu';
  /** Each undefined when its flag was not given: loadModel's default. */
  target?: 'auto' | 'gpu' | 'fallback';
  tuning?: TuningSource;
  subgroups?: boolean;
  opts: ProfileOptions;
}

export async function profileJob(job: ProfileJob, host: JobHost): Promise<Profile | CpuProfile> {
  const arch = job.fusedStages === null ? getArch(job.baseArch) : withFusedStages(job.baseArch, job.fusedStages);
  const model = job.backend === 'cpu'
    ? await loadModel({ backend: 'cpu', arch, weights: job.weights })
    : await loadModel({ backend: job.backend, arch, weights: job.weights, target: job.target, tuning: job.tuning, subgroups: job.subgroups });
  try {
    const log = (s: string) => host.log(s);
    if (!('gpu' in model)) {
      if (job.backend === 'auto') host.log(`backend: cpu (${model.backend.runtime}), because ${model.backend.reason}`);
      host.log(`${model.spec.name} ${host.where(`${job.weights} weights`)} on the CPU: ${model.backend.detail}`);
      if (job.opts.detail) host.log('--detail: per-op times are not measured on the CPU runtime; timing stages');
      const { batch, res, runs } = job.opts;
      return await profileCpuModel(model, { batch, res, runs, log });
    }
    host.log(`${model.spec.name} ${host.where(`${job.weights} weights`)} on ${formatAdapter(model.gpu.report)}`);
    return await profileModel(model, { ...job.opts, log });
  } finally {
    model.dispose();
  }
}
