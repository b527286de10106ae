/**
 * Liveness-based activation memory. Each tensor lives from the op that writes it to the last op that
 * reads it; tensors whose lifetimes do not overlap share a slot (one GPUBuffer), chosen best-fit so the
 * big early-stage maps reuse each other's memory. The peak is the sum of slot sizes.
 */
import type { Graph } from './graph.js';

export interface TensorLife {
  id: number;
  bytes: number;
  /** Index of the op that produces it (-1: written before the first op, e.g. the network input). */
  first: number;
  /** Index of the last op that reads it (Infinity: kept to the end, e.g. outputs read back). */
  last: number;
}

export interface ArenaPlan {
  /** Slot sizes in bytes. */
  slots: number[];
  /** tensor id → slot index. */
  slotOf: Map<number, number>;
  peakBytes: number;
  /** What the same tensors would take without sharing, for the report. */
  naiveBytes: number;
}

export function planArena(tensors: TensorLife[]): ArenaPlan {
  const slots: number[] = [];
  const slotOf = new Map<number, number>();
  const busyUntil: number[] = [];
  // Allocate in order of birth; ties (several outputs of one op) biggest first for better fits.
  const order = [...tensors].sort((a, b) => a.first - b.first || b.bytes - a.bytes);
  for (const t of order) {
    let best = -1;
    for (let s = 0; s < slots.length; s++) {
      // Free when its current tenant was last read strictly before this tensor is written.
      if (busyUntil[s]! >= t.first) continue;
      // Best fit: the smallest free slot that already holds it; else the largest free one, to grow.
      if (best < 0) best = s;
      else {
        const fits = slots[s]! >= t.bytes;
        const bestFits = slots[best]! >= t.bytes;
        if ((fits && (!bestFits || slots[s]! < slots[best]!)) || (!fits && !bestFits && slots[s]! > slots[best]!)) best = s;
      }
    }
    if (best < 0) {
      best = slots.length;
      slots.push(0);
      busyUntil.push(-Infinity);
    }
    slots[best] = Math.max(slots[best]!, t.bytes);
    busyUntil[best] = t.last;
    slotOf.set(t.id, best);
  }
  return {
    slots,
    slotOf,
    peakBytes: slots.reduce((a, b) => a + b, 0),
    naiveBytes: tensors.reduce((a, t) => a + t.bytes, 0),
  };
}

/**
 * The arena of a graph: a tensor lives from the first op binding it to the last, the network input from before
 * the first op, and the input, output and kept tensors to the end (they are read back). The executor allocates
 * this plan; reports size a schedule with it before allocating anything.
 */
export function graphArena(graph: Graph): ArenaPlan {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  graph.ops.forEach((op, i) => {
    for (const r of Object.values(op.bind)) {
      if (!('tensor' in r)) continue;
      if (!first.has(r.tensor)) first.set(r.tensor, i);
      last.set(r.tensor, i);
    }
  });
  const pinned = new Set([graph.input, graph.output, ...graph.keep]);
  return planArena(
    graph.tensors.map((t) => ({
      id: t.id,
      bytes: t.bytes,
      first: t.id === graph.input ? -1 : (first.get(t.id) ?? -1),
      last: pinned.has(t.id) ? Infinity : (last.get(t.id) ?? -1),
    })),
  );
}
