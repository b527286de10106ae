/**
 * Background tuning (`loadModel({ tune: 'background' })`): once a shape runs on its tuned schedule, time candidate
 * tiles for its launches (measure.ts; queued between inferences, each candidate output-checked), add the winners to
 * the model's tuning (and Node's tuning cache), then compile the retuned schedule and swap it in between
 * inferences. A failure — the model disposed meanwhile, a compile error — leaves the planned schedule serving.
 * Only on hardware adapters: tuning compiles dozens of candidate pipelines, cheap for a GPU driver, minutes of CPU
 * for a software one.
 */
import { isNode } from '../env.js';
import type { Model } from '../runtime/model.js';
import { modelInternals, type TunerHooks } from '../runtime/instrument.js';
import type { ScheduleKey } from '../runtime/schedules.js';
import { writeTuningCache } from './file.js';
import { tuneModel } from './measure.js';

export function attachBackgroundTuner(model: Model, budgetS = 20): void {
  const access = modelInternals(model);
  const status: TunerHooks['status'] = model.gpu.report.isFallback ? 'skipped: a software adapter compiles too slowly' : 'on';
  const shapes = new Set<string>();
  const jobs: Promise<void>[] = [];
  access.attachTuner({
    status,
    afterRun(key: ScheduleKey) {
      const id = `${key.batch}x${key.height}x${key.width}|${key.layout}|${key.softmax}`;
      if (status !== 'on' || shapes.has(id) || !access.isReady(key)) return;
      shapes.add(id);
      const job = (async () => {
        const r = await tuneModel(model, { batch: key.batch, height: key.height, width: key.width, layout: key.layout, softmax: key.softmax, budgetS });
        if (r.tuning.length === 0 || !access.isReady(key)) return;
        const source = isNode ? await writeTuningCache(model.gpu.report, r.tuning).catch(() => 'background') : 'background';
        access.addTuning(r.tuning.map((c) => [c.key, c.tile]), source);
        await access.retune(key);
      })().catch(() => undefined);
      jobs.push(job);
    },
    settled: async () => {
      await Promise.all(jobs);
    },
  });
}
