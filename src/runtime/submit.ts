/**
 * One inference is one command buffer and one submit: the input uploaded (or written by commands recorded
 * first, e.g. preprocessing), every pass of the schedule, then copies of the output and any kept tensors into
 * one staging buffer that is mapped once (or, for output kept on the GPU, into a new buffer the caller owns, with
 * no read-back). Staging buffers (by size; the few sizes used last) and pass timers
 * (by pair count) are reused across inferences, which the model runs one at a time.
 */
import { createBuffer } from '../buffers.js';
import { EffnetError } from '../errors.js';
import type { Gpu } from '../gpu.js';
import type { GpuInputRun, GpuOutput, InputFill } from './model-types.js';
import type { Schedule } from './schedules.js';
import { denseRows } from './tensor-io.js';
import { PassTimer, type PassTimestamps } from './timing.js';
import type * as web from '../platform-types.js';

/** Data to upload into the input buffer, or commands that write it. */
export type InputSource = Float32Array | ((enc: web.GPUCommandEncoder, input: web.GPUBuffer) => void);

/** Staging sizes kept: logits and probabilities at the batch sizes in use, without one buffer per shape ever seen. */
const STAGING_KEPT = 4;

export class Submitter {
  readonly #staging = new Map<number, GPUBuffer>();
  readonly #timers = new Map<number, PassTimer>();

  constructor(
    private readonly gpu: Gpu,
    /** Throws once the model is disposed. */
    private readonly assertLive: () => void,
  ) {}

  /**
   * Run `schedule` once and read back the output as dense [N, classes], followed by each tensor in `extra` as
   * stored. `ts` adds timestamp writes (profiling) without changing the passes.
   */
  async submit(schedule: Schedule, input: InputSource, extra: number[], ts?: PassTimestamps): Promise<Float32Array[]> {
    this.assertLive();
    const { built, compiled } = schedule;
    const reads = [built.output, ...extra].map((id) => compiled.tensorBinding(id));
    const total = reads.reduce((a, r) => a + r.bytes, 0);
    const staging = this.#stagingOf(total);
    try {
      await this.#record(schedule, input, ts, (enc) => {
        let off = 0;
        for (const r of reads) {
          enc.copyBufferToBuffer(r.buffer, 0, staging, off, r.bytes);
          off += r.bytes;
        }
      });
      // dispose() may have destroyed the staging buffer while this awaited: mapping it now would raise an
      // uncaptured validation error that the device's next user (another model on a shared device) would take.
      this.assertLive();
      await Promise.race([staging.mapAsync(GPUMapMode.READ), this.gpu.lost]);
      this.assertLive();
      const bytes = staging.getMappedRange().slice(0);
      const errors = this.gpu.takeErrors();
      if (errors.length) throw errors[0]!;
      let off = 0;
      return reads.map((r, i) => {
        const view = new Float32Array(bytes, off, r.bytes / 4);
        off += r.bytes;
        return i === 0 ? denseRows(view, built.tensors[built.output]!.shape) : view;
      });
    } finally {
      if (staging.mapState === 'mapped') staging.unmap();
    }
  }

  /**
   * Run `schedule` once and leave the output on the GPU: a new buffer holding dense float32 [N, classes], filled
   * by copies recorded in the same command buffer (one submit, no staging, no map). The caller owns the buffer;
   * it is destroyed here only when the run fails.
   */
  async submitToBuffer(schedule: Schedule, input: InputSource): Promise<GpuOutput> {
    this.assertLive();
    const { built, compiled } = schedule;
    const stored = compiled.tensorBinding(built.output).buffer;
    const { n, c, c4 } = built.tensors[built.output]!.shape;
    const out = createBuffer(this.gpu.device, { label: `output [${n}, ${c}]`, bytes: n * c * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    try {
      await this.#record(schedule, input, undefined, (enc) => {
        // Rows are stored with the class axis padded to a multiple of 4 (as denseRows undoes on the CPU): one copy
        // when there is no padding (1000 classes), else one per row.
        if (c4 * 4 === c) enc.copyBufferToBuffer(stored, 0, out, 0, n * c * 4);
        else for (let i = 0; i < n; i++) enc.copyBufferToBuffer(stored, i * c4 * 16, out, i * c * 4, c * 4);
      });
      const errors = this.gpu.takeErrors();
      if (errors.length) throw errors[0]!;
      this.assertLive();
      return { buffer: out, shape: [n, c] };
    } catch (e) {
      out.destroy();
      throw e;
    }
  }

  /**
   * One inference as one command buffer and one submit: the input uploaded (or written by the commands `input`
   * records first), every pass of the schedule (with `ts`'s timestamp writes), then the copies `copyOut` records.
   * A validation error anywhere in it is a GPU_VALIDATION error.
   */
  async #record(schedule: Schedule, input: InputSource, ts: PassTimestamps | undefined, copyOut: (enc: GPUCommandEncoder) => void): Promise<void> {
    const { device } = this.gpu;
    const { built, compiled } = schedule;
    const inputBuffer = compiled.tensorBinding(built.input).buffer;
    // Callers' inputs arrive as checkInput's copy, on an ArrayBuffer: writeBuffer refuses a SharedArrayBuffer.
    if (input instanceof Float32Array) device.queue.writeBuffer(inputBuffer, 0, input.buffer as ArrayBuffer, input.byteOffset, input.byteLength);
    device.pushErrorScope('validation');
    const enc = device.createCommandEncoder({ label: 'inference' });
    if (typeof input === 'function') input(enc, inputBuffer);
    compiled.encode(enc, ts);
    ts?.resolve(enc);
    copyOut(enc);
    device.queue.submit([enc.finish()]);
    const err = await device.popErrorScope();
    if (err) throw new EffnetError('GPU_VALIDATION', `inference: ${err.message}`);
  }

  /**
   * `submit` with the input written by `fill`, timing every pass of the network and the one pass `fill` records
   * in this same submit.
   */
  async submitTimed(schedule: Schedule, fill: InputFill, fillName: string): Promise<Required<GpuInputRun>> {
    const passes = schedule.compiled.passes;
    const timer = this.#timer(passes.length + 1);
    // The network's passes take query pairs 0..P-1 (CompiledGraph.encode numbers them); the fill pass the last.
    const fillWrites = timer.writes(passes.length);
    const [output] = await this.submit(schedule, (enc, input) => fill(enc, input, fillWrites), [], timer.plan(false));
    // As in submit: never map the timer's buffers once dispose() has destroyed them.
    this.assertLive();
    const ms = await timer.read();
    return {
      output: output!,
      stages: [{ name: fillName, block: 'input', ms: ms[passes.length]! }, ...passes.map((p, i) => ({ name: p.stage, block: p.ops[0]!.op.block, ms: ms[i]! }))],
    };
  }

  /** A staging buffer of `bytes`, made on first use; the least recently used past STAGING_KEPT sizes is destroyed. */
  #stagingOf(bytes: number): GPUBuffer {
    let staging = this.#staging.get(bytes);
    // Map order is insertion order: re-inserting marks the size as the most recently used.
    this.#staging.delete(bytes);
    staging ??= createBuffer(this.gpu.device, { label: `readback.${bytes}`, bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.#staging.set(bytes, staging);
    for (const [size, b] of this.#staging) {
      if (this.#staging.size <= STAGING_KEPT) break;
      // Runs are serial, so no other read-back is using it.
      b.destroy();
      this.#staging.delete(size);
    }
    return staging;
  }

  /** GPU bytes of the staging buffers and pass timers kept. */
  get bytes(): number {
    let n = 0;
    for (const b of this.#staging.values()) n += b.size;
    for (const t of this.#timers.values()) n += t.bytes;
    return n;
  }

  /** A timer for `pairs` passes, made on first use and kept for the model's life. */
  #timer(pairs: number): PassTimer {
    let t = this.#timers.get(pairs);
    if (!t) {
      t = new PassTimer(this.gpu.device, pairs);
      this.#timers.set(pairs, t);
    }
    return t;
  }

  destroy(): void {
    for (const b of this.#staging.values()) b.destroy();
    this.#staging.clear();
    for (const t of this.#timers.values()) t.destroy();
    this.#timers.clear();
  }
}
