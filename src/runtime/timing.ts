/**
 * The one GPU timer. `PassTimer`: timestamps for one inference, a begin/end query pair per compute pass, resolved
 * in the same command buffer as the passes and read back once the submit has finished, so timing adds no submit of
 * its own. `timeDispatches`: launches timed alone (the tuner, kernel-bench, the kernel benchmark) with timestamps
 * where the adapter has them, else wall time around a submit; `repsFor` sizes its samples. `interleave`: two whole
 * runs alternated (the profiler, kernel-bench's network, the tuned-schedule comparison).
 */
import { createBuffer } from '../buffers.js';
import { encodeDispatch, type Dispatch } from '../kernels/launch.js';
import { median } from '../stats.js';
import type { TimestampPlan } from './executor.js';
import type * as web from '../platform-types.js';

/** Timestamp writes for the network's passes, and the commands that copy the queries out for reading. */
export interface PassTimestamps extends TimestampPlan {
  resolve(enc: web.GPUCommandEncoder): void;
}

export interface StageTime {
  name: string;
  /** The block type of the stage's first op ('input' for passes recorded before the network). */
  block: string;
  ms: number;
}

export class PassTimer {
  private readonly querySet: GPUQuerySet;
  private readonly resolved: GPUBuffer;
  private readonly readback: GPUBuffer;

  /** `pairs` passes can be timed; pair i uses queries 2i and 2i+1. Needs the `timestamp-query` feature. */
  constructor(device: web.GPUDevice, readonly pairs: number) {
    const bytes = pairs * 2 * 8;
    this.querySet = device.createQuerySet({ label: 'pass-timer', type: 'timestamp', count: pairs * 2 });
    this.resolved = createBuffer(device, { label: 'pass-timer.resolve', bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.readback = createBuffer(device, { label: 'pass-timer.read', bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  /** The timestampWrites for a pass recorded outside CompiledGraph.encode. */
  writes(pair: number): web.GPUComputePassTimestampWrites {
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * pair, endOfPassWriteIndex: 2 * pair + 1 };
  }

  /** For one submit of the network: its passes take pairs 0, 1, …; `resolve` copies every query out. */
  plan(perOp: boolean): PassTimestamps {
    const count = this.pairs * 2;
    return {
      querySet: this.querySet,
      perOp,
      resolve: (enc) => {
        enc.resolveQuerySet(this.querySet, 0, count, this.resolved, 0);
        enc.copyBufferToBuffer(this.resolved, 0, this.readback, 0, count * 8);
      },
    };
  }

  /** Raw begin/end ticks (ns) of the last resolved submit. */
  async ticks(): Promise<BigUint64Array> {
    await this.readback.mapAsync(GPUMapMode.READ);
    try {
      return new BigUint64Array(this.readback.getMappedRange().slice(0));
    } finally {
      this.readback.unmap();
    }
  }

  /** Milliseconds per pair of the last resolved submit. */
  async read(): Promise<number[]> {
    const t = await this.ticks();
    return Array.from({ length: this.pairs }, (_, i) => Number(t[2 * i + 1]! - t[2 * i]!) / 1e6);
  }

  /** GPU bytes of its two buffers (the query set's storage is the driver's). */
  get bytes(): number {
    return this.resolved.size + this.readback.size;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolved.destroy();
    this.readback.destroy();
  }
}

/** 'timestamp-query': GPU timestamps around each pass; 'submit': wall time from submit until the GPU is done. */
export type TimerKind = 'timestamp-query' | 'submit';

export const timerKind = (timestamps: boolean): TimerKind => (timestamps ? 'timestamp-query' : 'submit');

export interface Repeats {
  /** Timed samples per side; a side's time is their median. */
  runs: number;
  /** How often a sample records a side's dispatches back to back (one count, or one per side); times are per repetition. */
  reps: number | readonly number[];
  /** Untimed samples first (default none). */
  warmup?: number;
  /** Reverse the sides' order every other run, so that going first favours none (default: always in order). */
  alternate?: boolean;
  /** With timestamps, one submit per run holding every side's pass, so all sides run under the same conditions (default: a submit per side). */
  sameSubmit?: boolean;
  /** Label of the command encoders and passes. */
  label?: string;
}

/**
 * Median ms per repetition of each side (a list of dispatches: one launch, or a sequence such as a fused path),
 * a sample recording the side's dispatches `reps` times in one compute pass. With `timestamps` (the adapter has
 * `timestamp-query`) the pass's GPU time; without, the wall time from submit until onSubmittedWorkDone, a submit
 * per side.
 */
export async function timeDispatches(device: web.GPUDevice, timestamps: boolean, sides: readonly (readonly Dispatch[])[], o: Repeats): Promise<number[]> {
  return (await dispatchSamples(device, timestamps, sides, o)).map(median);
}

/** timeDispatches' samples themselves, per side (ms per repetition, `o.runs` of them): for a spread beside the median. */
export async function dispatchSamples(device: web.GPUDevice, timestamps: boolean, sides: readonly (readonly Dispatch[])[], o: Repeats): Promise<number[][]> {
  const reps = (i: number) => (typeof o.reps === 'number' ? o.reps : o.reps[i]!);
  const label = o.label ?? 'timing';
  const together = timestamps && !!o.sameSubmit;
  const timer = timestamps ? new PassTimer(device, together ? sides.length : 1) : undefined;
  const record = (enc: GPUCommandEncoder, i: number, pair: number) => {
    const pass = enc.beginComputePass({ label: `${label} side ${i}`, ...(timer ? { timestampWrites: timer.writes(pair) } : {}) });
    for (let k = 0; k < reps(i); k++) for (const d of sides[i]!) encodeDispatch(pass, d);
    pass.end();
  };
  // One sample of each side, in `order`: ms per repetition, indexed like `sides`.
  const sample = async (order: number[]): Promise<number[]> => {
    const ms: number[] = [];
    if (together) {
      const enc = device.createCommandEncoder({ label });
      for (const i of order) record(enc, i, i);
      timer!.plan(false).resolve(enc);
      device.queue.submit([enc.finish()]);
      const t = await timer!.read();
      for (const i of order) ms[i] = t[i]! / reps(i);
      return ms;
    }
    for (const i of order) {
      const enc = device.createCommandEncoder({ label });
      record(enc, i, 0);
      timer?.plan(false).resolve(enc);
      const t0 = performance.now();
      device.queue.submit([enc.finish()]);
      if (timer) ms[i] = (await timer.read())[0]! / reps(i);
      else {
        await device.queue.onSubmittedWorkDone();
        ms[i] = (performance.now() - t0) / reps(i);
      }
    }
    return ms;
  };
  const inOrder = sides.map((_, i) => i);
  const samples: number[][] = sides.map(() => []);
  try {
    for (let w = 0; w < (o.warmup ?? 0); w++) await sample(inOrder);
    for (let r = 0; r < o.runs; r++) {
      const ms = await sample(o.alternate && r % 2 === 1 ? [...inOrder].reverse() : inOrder);
      ms.forEach((m, i) => samples[i]!.push(m));
    }
  } finally {
    timer?.destroy();
  }
  return samples;
}

/**
 * Repetitions that make a sample about `targetMs` long, from one repetition's `ms` (read as at least `minMs`, so a
 * zero or quantised reading cannot ask for unbounded repetitions): between 1 and `maxReps`.
 */
export const repsFor = (ms: number, targetMs: number, minMs: number, maxReps: number): number => Math.max(1, Math.min(maxReps, Math.ceil(targetMs / Math.max(ms, minMs))));

/**
 * `runs` pairs of `a` and `b`, swapping which goes first every pair, so that neither the order nor load drifting
 * elsewhere on the machine favours one; their results in run order. Callers warm both up first (first-run costs
 * are not what is compared).
 */
export async function interleave<A, B>(a: () => Promise<A>, b: () => Promise<B>, runs: number): Promise<{ a: A[]; b: B[] }> {
  const as: A[] = [];
  const bs: B[] = [];
  for (let r = 0; r < runs; r++) {
    if (r % 2 === 0) as.push(await a());
    bs.push(await b());
    if (r % 2 === 1) as.push(await a());
  }
  return { a: as, b: bs };
}
