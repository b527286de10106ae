/**
 * What one inference does with a model's schedules and submitter, by how its input arrives and its output
 * leaves: an array in and out (checked finite), an output kept on the GPU, an input recorded by commands
 * (preprocessing; optionally timed), and a verification run that keeps every stage. The model (model.ts) runs
 * these one at a time in its queue; a non-finite output is run again once, keeping every stage, to name where it
 * overflowed.
 */
import type { GpuInputRun, GpuOutput, InputFill, RunOptions, StageDump } from './model-types.js';
import type { ScheduleKey, ScheduleTiers } from './schedules.js';
import type { InputSource, Submitter } from './submit.js';
import { copyInput, firstNonFinite, nonFiniteError, stageDumps } from './tensor-io.js';

type Tier = RunOptions['tier'];

export class Runner {
  constructor(
    private readonly schedules: ScheduleTiers,
    private readonly submitter: Submitter,
    /** LIMIT_EXCEEDED when the device cannot run a shape, decided from its plan (ScheduleCompiler.checkLimits). */
    readonly checkLimits: (key: ScheduleKey, tier: Tier) => void,
  ) {}

  /**
   * A run's input once its shape is known to fit the device: refused from the plan before anything is copied or
   * compiled; an array is then copied (the caller may reuse its own) and checked finite.
   */
  admit<I extends Float32Array | InputFill>(key: ScheduleKey, input: I, tier: Tier): I {
    this.checkLimits(key, tier);
    return (typeof input === 'function' ? input : copyInput(input)) as I;
  }

  /** A run's output as `opts.output` asks: read back (array), or left on the GPU (gpu-buffer). */
  async output(key: ScheduleKey, input: InputSource, opts: RunOptions): Promise<Float32Array | GpuOutput> {
    if (opts.output !== 'gpu-buffer') return this.array(key, input, opts.tier);
    const r = await this.buffer(key, input, opts.tier);
    // The caller drops a result that arrives after an abort: nobody would own (and destroy) this buffer.
    if (opts.signal?.aborted) r.buffer.destroy();
    return r;
  }

  /** The output read back; NUMERIC when it is not finite. */
  async array(key: ScheduleKey, input: InputSource, tier: Tier): Promise<Float32Array> {
    const y = await this.schedules.runOnBest(key, tier, async (s) => (await this.submitter.submit(s, input, []))[0]!);
    await this.#assertFinite(y, key, input, tier);
    return y;
  }

  /** The output left on the GPU in a new buffer the caller owns (no read-back, so no NUMERIC check). */
  buffer(key: ScheduleKey, input: InputSource, tier: Tier): Promise<GpuOutput> {
    return this.schedules.runOnBest(key, tier, (s) => this.submitter.submitToBuffer(s, input));
  }

  /** The input written by `fill`'s commands in the same command buffer; with `timed`, per-pass GPU times of that submit. */
  async filled(key: ScheduleKey, fill: InputFill, tier: Tier, timed: false | string): Promise<GpuInputRun> {
    const r = await this.schedules.runOnBest(key, tier, async (s) =>
      timed !== false ? this.submitter.submitTimed(s, fill, timed) : { output: (await this.submitter.submit(s, fill, []))[0]! },
    );
    await this.#assertFinite(r.output, key, (enc, input) => fill(enc, input), tier);
    return r;
  }

  /** Logits plus every `features.i` output (dense NCHW), on the tuned schedule or the quick one. */
  async stages(key: ScheduleKey, input: Float32Array, tier: 'tuned' | 'quick'): Promise<{ logits: Float32Array; stages: StageDump[] }> {
    const k = { ...key, keepStages: true, softmax: false };
    return this.schedules.use(
      () => (tier === 'quick' ? this.schedules.quick(k) : this.schedules.tuned(k)),
      async (s) => {
        const [logits, ...raw] = await this.submitter.submit(s, input, s.built.stageOutputs.map((o) => o.tensor));
        const stages = stageDumps(s.built, raw);
        const bad = firstNonFinite(logits!);
        if (bad) throw nonFiniteError('logits', bad, stages);
        return { logits: logits!, stages };
      },
    );
  }

  /**
   * Throw NUMERIC if `output` (of `input` on the schedule for `key`) holds a non-finite value. Only then is the
   * input run again, on the schedule that keeps every stage output, to name where float32 overflowed: the run
   * that succeeds stays one submit. Called inside the model's queue, so the arena is still this run's.
   */
  async #assertFinite(output: Float32Array, key: ScheduleKey, input: InputSource, tier: Tier): Promise<void> {
    const bad = firstNonFinite(output);
    if (!bad) return;
    const k = { ...key, keepStages: true, softmax: false };
    const stages = await this.schedules.use(
      () => (tier === 'tuned' ? this.schedules.tuned(k) : this.schedules.quick(k)),
      async (s) => stageDumps(s.built, (await this.submitter.submit(s, input, s.built.stageOutputs.map((o) => o.tensor))).slice(1)),
    );
    throw nonFiniteError(key.softmax ? 'probabilities' : 'logits', bad, stages);
  }
}
