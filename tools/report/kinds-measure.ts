/**
 * What `effnet report` measures, and how it decides what not to: every cell (architecture × resolution × batch)
 * is planned first — the model's packed weights, its graph and the liveness arena, sized exactly as the model will
 * allocate them — and checked against the device's buffer limits and the --memory-budget; only cells that fit are
 * then run (random weights, one model per architecture, schedules evicted as the grid moves on), in Node or in
 * headless Chromium.
 */
import { bufferBytes } from '../../src/buffers.js';
import type { AdapterReport } from '../../src/gpu.js';
import { layerOps } from '../../src/model/layers.js';
import { paramTensors } from '../../src/model/ops.js';
import type { ArchSpec } from '../../src/model/tables.js';
import { graphArena } from '../../src/runtime/arena.js';
import { buildGraph, packModel } from '../../src/runtime/builder.js';
import { launchTarget } from '../../src/runtime/compile.js';
import { assembleParams } from '../../src/weights/params.js';
import type { Cell, CellMemory, StageTime } from './kinds.js';

export interface CellShape {
  res: number;
  batch: number;
}

export interface Plan {
  memory: CellMemory['planned'];
  /** Why the cell cannot run on this device (a limit) or within --memory-budget, or null. */
  overLimit: string | null;
  overBudget: string | null;
}

/**
 * Plans every cell of one architecture. The weights are packed once (zeros of the right sizes: sizes, not values,
 * decide the buffers); each cell's graph is built and its arena planned with the executor's liveness rule.
 */
export function planCells(spec: ArchSpec, cells: CellShape[], adapter: AdapterReport, memoryBudgetBytes: number | null): Plan[] {
  const zeros = assembleParams(paramTensors(layerOps(spec)), (t) => ({
    weight: new Float32Array(t.shape.reduce((a, b) => a * b, 1)),
    shape: t.shape,
    bias: new Float32Array(t.shape[0]!),
  }));
  const packed = packModel(spec, zeros);
  const weightSizes = [...packed.values()].map((w) => bufferBytes(w.byteLength));
  const weightBytes = weightSizes.reduce((a, b) => a + b, 0);
  const target = launchTarget(adapter, 'auto');
  const { maxStorageBufferBindingSize: maxBinding, maxBufferSize } = adapter.limits;
  return cells.map(({ res, batch }) => {
    const graph = buildGraph(spec, packed, { batch, height: res, width: res, layout: 'nchw', keepStages: false, softmax: false, target });
    const slots = graphArena(graph).slots.map(bufferBytes);
    const arenaBytes = slots.reduce((a, b) => a + b, 0);
    const stagingBytes = bufferBytes(batch * spec.numClasses * 4);
    const largestBufferBytes = Math.max(...slots, ...weightSizes);
    const totalBytes = weightBytes + arenaBytes + stagingBytes;
    const limit = Math.min(maxBinding, maxBufferSize);
    const overLimit = largestBufferBytes > limit
      ? `needs a ${mb(largestBufferBytes)} MB buffer; this device binds at most ${mb(maxBinding)} MB (maxStorageBufferBindingSize) and allocates at most ${mb(maxBufferSize)} MB (maxBufferSize)`
      : null;
    const overBudget = memoryBudgetBytes !== null && totalBytes > memoryBudgetBytes ? `needs ${mb(totalBytes)} MB in all, over the ${mb(memoryBudgetBytes)} MB --memory-budget` : null;
    return { memory: { weightBytes, arenaBytes, stagingBytes, totalBytes, largestBufferBytes }, overLimit, overBudget };
  });
}

const mb = (b: number): string => (b / 2 ** 20).toFixed(1);

/** One architecture's cells to run, in order (batches growing within a resolution). */
export interface MeasureJob {
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

/** The engine calls measureJob needs: the Node imports, or (null) the page's `globalThis.effnet`. */
export interface MeasureApi {
  loadModel: typeof import('../../src/api.js').loadModel;
  profileModel: typeof import('../../src/profile.js').profileModel;
  log: (line: string) => void;
}

/**
 * Run one job's cells on one model. Self-contained (it uses nothing from this module's scope) because
 * `--host chrome` hands its source to the page, where `api` is null and the engine is `globalThis.effnet`.
 * The schedule cache is limited to one shape, so that model.memory() after a cell holds that cell's schedule
 * only. A cell that fails (a GPU allocation refused) is reported, and larger batches at its resolution skipped.
 */
export async function measureJob(api: MeasureApi | null, job: MeasureJob): Promise<Measured[]> {
  const e = api ?? (globalThis as unknown as { effnet: MeasureApi }).effnet;
  const log = api ? api.log : (s: string) => console.log(`effnet: ${s}`);
  const empty = { ms: null, wallMs: null, imagesPerS: null, stages: [], timer: null, measured: null };
  const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
  if (Date.now() > job.deadline) return job.cells.map((c) => ({ index: c.index, status: 'skipped', reason: 'the time budget (--budget-s) was spent', ...empty }));
  let model: Awaited<ReturnType<MeasureApi['loadModel']>>;
  try {
    model = await e.loadModel({ arch: job.spec, weights: 'random', tuning: job.tuning, scheduleCacheBytes: 0 });
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
      log(`${job.spec.name} @ ${c.res}×${c.res}, batch ${c.batch}`);
      try {
        const p = await e.profileModel(model, { batch: c.batch, res: c.res, runs: job.runs });
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
