/**
 * GPU timestamps for one inference: a begin/end query pair per compute pass, resolved in the same command
 * buffer as the passes and read back once the submit has finished, so timing adds no submit of its own.
 */
import { createBuffer } from '../buffers.js';
import type { TimestampPlan } from './executor.js';

/** Timestamp writes for the network's passes, and the commands that copy the queries out for reading. */
export interface PassTimestamps extends TimestampPlan {
  resolve(enc: GPUCommandEncoder): void;
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
  constructor(device: GPUDevice, readonly pairs: number) {
    const bytes = pairs * 2 * 8;
    this.querySet = device.createQuerySet({ label: 'pass-timer', type: 'timestamp', count: pairs * 2 });
    this.resolved = createBuffer(device, { label: 'pass-timer.resolve', bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.readback = createBuffer(device, { label: 'pass-timer.read', bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  /** The timestampWrites for a pass recorded outside CompiledGraph.encode. */
  writes(pair: number): GPUComputePassTimestampWrites {
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
