/**
 * `effnet report`'s jobs: the adapter the cells are planned for (tools/report/kinds-measure.ts), and the cells of
 * one architecture that fit, measured on one model with random weights.
 */
import { loadModel } from '../../src/api.js';
import { leaseSharedGpu, type AdapterReport } from '../../src/gpu.js';
import type { ArchSpec } from '../../src/model/tables.js';
import { profileModel } from '../../src/profile.js';
import type { Model } from '../../src/runtime/model.js';
import type { CellShape } from '../report/kinds-measure.js';
import type { Cell, CellMemory, StageTime } from '../report/kinds.js';
import type { JobHost } from './host.js';

/** The adapter of the device the models will share. */
export async function adapterJob(): Promise<AdapterReport> {
  return (await leaseSharedGpu()).report;
}

/** One architecture's cells to run, in order (batches growing within a resolution). */
export interface ReportJob {
  spec: ArchSpec;
  cells: (CellShape & { index: number })[];
  runs: number;
  /** Date.now() past which cells are skipped (--budget-s). */
  deadline: number;
  tuning: 'cache' | 'none';
}

export type Measured = Pick<Cell, 'status' | 'reason' | 'ms' | 'wallMs' | 'imagesPerS' | 'stages'> & {
  index: number;
  timer: 'timestamp-query' | 'submit' | null;
  measured: CellMemory['measured'];
};

/**
 * Run one job's cells on one model. The schedule cache is limited to one shape, so that model.memory() after a
 * cell holds that cell's schedule only. A cell that fails (a GPU allocation refused) is reported, and larger
 * batches at its resolution skipped.
 */
export async function reportJob(job: ReportJob, host: JobHost): Promise<Measured[]> {
  const empty = { ms: null, wallMs: null, imagesPerS: null, stages: [], timer: null, measured: null };
  const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
  if (Date.now() > job.deadline) return job.cells.map((c) => ({ index: c.index, status: 'skipped', reason: 'the time budget (--budget-s) was spent', ...empty }));
  let model: Model;
  try {
    model = await loadModel({ backend: 'webgpu', arch: job.spec, weights: 'random', tuning: job.tuning, scheduleCacheBytes: 0 });
  } catch (err) {
    return job.cells.map((c) => ({ index: c.index, status: 'failed', reason: `loading the model failed: ${message(err)}`, ...empty }));
  }
  const out: Measured[] = [];
  const failedAt = new Set<number>();
  try {
    for (const c of job.cells) {
      if (Date.now() > job.deadline) {
        out.push({ index: c.index, status: 'skipped', reason: 'the time budget (--budget-s) was spent', ...empty });
        continue;
      }
      if (failedAt.has(c.res)) {
        out.push({ index: c.index, status: 'skipped', reason: 'a smaller batch at this resolution already failed', ...empty });
        continue;
      }
      host.log(`${job.spec.name} @ ${c.res}×${c.res}, batch ${c.batch}`);
      try {
        const p = await profileModel(model, { batch: c.batch, res: c.res, runs: job.runs });
        const m = model.memory();
        out.push({
          index: c.index,
          status: 'ok',
          reason: null,
          ms: p.totalMs,
          wallMs: p.unprofiledMs,
          imagesPerS: (c.batch / p.totalMs) * 1000,
          stages: p.stages.map((s): StageTime => ({ name: s.name, block: s.block, ms: s.ms ? s.ms.median : null })),
          timer: p.timer,
          measured: { weightBytes: m.weightBytes, scheduleBytes: m.schedules.bytes, schedules: m.schedules.schedules, stagingBytes: m.stagingBytes, totalBytes: m.totalBytes },
        });
      } catch (err) {
        failedAt.add(c.res);
        out.push({ index: c.index, status: 'failed', reason: message(err), ...empty });
      }
    }
  } finally {
    model.dispose();
  }
  return out;
}
