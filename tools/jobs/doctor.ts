/**
 * `effnet doctor`'s job: what the adapter is and offers, what the engine will use on it (target, subgroups,
 * tuning), and the on-device self-test of one model's quick and tuned schedules — every compiled variant against
 * the float64 reference — plus the two tiers' logits against each other.
 */
import { loadModel } from '../../src/api.js';
import { formatAdapter, type AdapterReport } from '../../src/gpu.js';
import { getArch } from '../../src/model/tables.js';
import type { ScheduleTarget } from '../../src/runtime/model.js';
import { MODEL_TOLERANCE } from '../../src/tolerance.js';
import { errorStats } from '../../src/verify.js';
import type { JobHost } from './host.js';

export interface DoctorJob {
  arch: string;
  res: number;
  batch: number;
  target: 'auto' | 'gpu' | 'fallback';
  subgroups: boolean;
}

export interface DoctorReport {
  adapter: AdapterReport;
  engine: {
    target: ScheduleTarget['target'];
    /** The subgroup kernels run: the adapter has the feature, the target is a GPU and they were not switched off. */
    subgroups: boolean;
    tuning: ScheduleTarget['tuning'];
  };
  selfTest: {
    arch: string;
    res: number;
    batch: number;
    /** Wall time of compiling both tiers, self-test included; and the self-test's own share. */
    compileMs: number;
    ms: number;
    checked: number;
    failed: ScheduleTarget['selfTest']['failed'];
    variants: ScheduleTarget['selfTest']['variants'];
  };
  /** The quick and the tuned schedule's logits on one seeded input: ‖tuned − quick‖ / ‖quick‖. */
  tiers: { relL2: number; bound: number; ok: boolean };
  /** Every variant passed and the tiers agree. */
  ok: boolean;
}

export async function doctorJob(job: DoctorJob, host: JobHost): Promise<DoctorReport> {
  const t0 = performance.now();
  const model = await loadModel({ backend: 'webgpu', arch: getArch(job.arch), weights: 'random', target: job.target, subgroups: job.subgroups, selfTest: 'on' });
  try {
    const r = model.gpu.report;
    host.log(`adapter: ${formatAdapter(r)}`);
    const { batch, res } = job;
    const data = Float32Array.from({ length: batch * 3 * res * res }, (_, i) => Math.sin(i * 0.37) * 1.5);
    const input = { data, shape: [batch, 3, res, res] };
    host.log(`self-test: ${model.spec.name} @ ${res}×${res}, batch ${batch}: compiling and checking the quick schedule`);
    const quick = await model.run(input, { tier: 'quick' });
    host.log('self-test: the tuned schedule');
    const tuned = await model.run(input, { tier: 'tuned' });
    const compileMs = performance.now() - t0;
    const s = model.schedule;
    const relL2 = errorStats(tuned, quick).relL2;
    const bound = MODEL_TOLERANCE.relL2;
    const tiers = { relL2, bound, ok: relL2 <= bound };
    return {
      adapter: r,
      engine: { target: s.target, subgroups: s.target === 'gpu' && r.features.subgroups && job.subgroups, tuning: s.tuning },
      selfTest: { arch: model.spec.name, res, batch, compileMs, ms: s.selfTest.ms, checked: s.selfTest.checked, failed: s.selfTest.failed, variants: s.selfTest.variants },
      tiers,
      ok: s.selfTest.failed.length === 0 && s.selfTest.variants.every((v) => v.status === 'pass') && tiers.ok,
    };
  } finally {
    model.dispose();
  }
}
