/**
 * How `effnet report` decides what not to measure: every cell (architecture × resolution × batch) is planned
 * first — the model's packed weights, its graph and the liveness arena, sized exactly as the model will allocate
 * them — and checked against the device's buffer limits and the --memory-budget; only cells that fit are then run
 * (tools/jobs/report.ts).
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
import type { CellMemory } from './kinds.js';

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
