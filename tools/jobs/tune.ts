/**
 * `effnet tune`'s job: time candidate tiles for every distinct launch of one architecture (src/tuning/measure.ts),
 * then load the model a second time from the tuning just measured, as any tuning file loads, and time the planned
 * schedule against the tuned one in the same run.
 */
import { loadModel } from '../../src/api.js';
import { formatAdapter } from '../../src/gpu.js';
import { getArch } from '../../src/model/tables.js';
import type { Model } from '../../src/runtime/model.js';
import { mergeTuning } from '../../src/tuning/file.js';
import { compareModels, tuneModel, tuningSecondLoad, type SecondLoad, type TuneOptions, type TuneResult } from '../../src/tuning/measure.js';
import type { JobHost } from './host.js';

export interface TuneJob {
  arch: string;
  weights: string;
  target: 'auto' | 'gpu' | 'fallback';
  opts: TuneOptions;
  runs: number;
  subgroups: boolean;
}

export interface TuneMeasured {
  result: TuneResult;
  /** Median wall times of the planned (a) and the tuned (b) model in alternating runs, and their logits' relL2. */
  compare: { aMs: number; bMs: number; ratio: number; relL2: number };
  secondLoad: SecondLoad;
}

export async function tuneJob(job: TuneJob, host: JobHost): Promise<TuneMeasured> {
  const first = await loadModel({ backend: 'webgpu', arch: getArch(job.arch), weights: job.weights, target: job.target, tuning: 'none', quickStart: false, subgroups: job.subgroups });
  let second: Model | undefined;
  try {
    host.log(`${first.spec.name} ${host.where(`${job.weights} weights`)} on ${formatAdapter(first.gpu.report)}, ${first.schedule.target} target`);
    const result = await tuneModel(first, { ...job.opts, log: (s) => host.log(s) });
    const tuning = mergeTuning(undefined, first.gpu.report, result.tuning);
    second = await loadModel({ arch: getArch(job.arch), weights: job.weights, target: job.target, tuning, device: first.gpu, quickStart: false, subgroups: job.subgroups });
    const secondLoad = await tuningSecondLoad(first, second, result);
    host.log(`timing the planned and the tuned schedule, ${job.runs} runs each, alternating`);
    const compare = await compareModels(first, second, { batch: result.batch, res: result.res, runs: job.runs });
    return { result, compare, secondLoad };
  } finally {
    second?.dispose();
    first.dispose();
  }
}
