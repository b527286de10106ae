/**
 * The public model object: weights uploaded once, one compiled schedule per input shape cached (schedules.ts),
 * every input checked before GPU work (tensor-io.ts), and every inference recorded as one command buffer with
 * one submit (submit.ts). Profiling and benchmarks look inside only through instrument.ts.
 */
import { createBuffer } from '../buffers.js';
import { EffnetError } from '../errors.js';
import type { AdapterReport, Gpu } from '../gpu.js';
import type { LaunchTarget } from '../kernels/launch.js';
import type { TuningChoices } from '../kernels/tuning.js';
import { resolveTuning } from '../tuning-file.js';
import { KernelLibrary } from '../kernels/library.js';
import type { ArchSpec } from '../model/tables.js';
import { modelInfo, type ModelInfo } from '../model/info.js';
import type { ModelParams } from '../weights/params.js';
import type { ArenaPlan } from './arena.js';
import { buildGraph, packModel, type InputLayout } from './builder.js';
import { CompiledGraph } from './executor.js';
import { exposeInternals } from './instrument.js';
import type { GpuInputRun, InputFill, InputShape, InputTensor, ModelOptions, RunOptions, ScheduleTarget, StageDump } from './model-types.js';
import { ScheduleTiers, type ScheduleKey } from './schedules.js';
import { Submitter } from './submit.js';
import { checkInput, engineLayout, stageDumps } from './tensor-io.js';

export type { GpuInputRun, InputFill, InputShape, InputTensor, ModelOptions, RunOptions, ScheduleTarget, StageDump } from './model-types.js';

export class Model {
  readonly #weights: Map<string, GPUBuffer>;
  readonly #schedules: ScheduleTiers;
  readonly #submitter: Submitter;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #ownsDevice: boolean;
  #disposed = false;
  readonly info: ModelInfo;
  /** Which device class the schedule is shaped for, and which tuning it takes. */
  readonly schedule: ScheduleTarget;

  private constructor(
    readonly spec: ArchSpec,
    readonly gpu: Gpu,
    readonly lib: KernelLibrary,
    packed: Map<string, Float32Array>,
    weights: Map<string, GPUBuffer>,
    ownsDevice: boolean,
    quickStart: boolean,
    target: ModelOptions['target'],
    tuning: { choices?: TuningChoices; source: string },
  ) {
    this.info = modelInfo(spec);
    this.schedule = {
      target: launchTarget(gpu.report, target).isFallback ? 'fallback' : 'gpu',
      tuning: { source: tuning.source, entries: tuning.choices?.size ?? 0 },
    };
    this.#weights = weights;
    this.#ownsDevice = ownsDevice;
    this.#submitter = new Submitter(gpu, () => this.#assertLive());
    const compile = async (key: ScheduleKey, tier: 'tuned' | 'quick') => {
      const built = buildGraph(spec, packed, { ...key, target: launchTarget(gpu.report, target, tier, tuning.choices) });
      return { built, compiled: await CompiledGraph.create(lib, built, weights, spec.name) };
    };
    this.#schedules = new ScheduleTiers(compile, quickStart, () => this.#assertLive());
    exposeInternals(this, {
      tuned: (key) => this.#schedules.tuned(key),
      run: (schedule, input, timestamps) => this.#serial(async () => (await this.#submitter.submit(schedule, input, [], timestamps))[0]!),
      exclusive: (fn) => this.#serial(async () => (this.#assertLive(), fn())),
    });
  }

  /** Upload `params` for `spec` on `gpu`; with `owns`, `dispose` (or a failure here) destroys the device too. */
  static async create(spec: ArchSpec, params: ModelParams, g: Gpu, owns: boolean, opts: ModelOptions = {}): Promise<Model> {
    const weights = new Map<string, GPUBuffer>();
    try {
      const packed = packModel(spec, params);
      for (const [key, data] of packed) {
        weights.set(key, createBuffer(g.device, { label: `weight ${key}`, bytes: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, data }));
      }
      if (opts.target !== undefined && !['auto', 'gpu', 'fallback'].includes(opts.target)) {
        throw new EffnetError('INPUT', `target must be 'auto', 'gpu' or 'fallback', got '${String(opts.target)}'`);
      }
      const tuning = await resolveTuning(opts.tuning, g.report);
      return new Model(spec, g, new KernelLibrary(g.device), packed, weights, owns, opts.quickStart ?? true, opts.target, tuning);
    } catch (e) {
      for (const b of weights.values()) b.destroy();
      if (owns) g.destroy();
      throw e;
    }
  }

  /** Output classes (from the table, fixed for the model's life). */
  get classes(): number {
    return this.spec.numClasses;
  }

  /** Bytes of weights on the GPU (packed, padded). */
  get weightBytes(): number {
    let n = 0;
    for (const b of this.#weights.values()) n += b.size;
    return n;
  }

  /**
   * Logits [N, classes] (or probabilities). A bare Float32Array is taken as NCHW at the model's default
   * resolution with N inferred; pass `{data, shape, layout}` for another size, batch or NHWC.
   */
  async run(input: Float32Array | InputTensor, opts: RunOptions = {}): Promise<Float32Array> {
    this.#assertLive();
    const { data, ...shape } = checkInput(input, this.spec.resolution);
    const key = { ...shape, keepStages: false, softmax: !!opts.probabilities };
    return this.#serial(() => this.#schedules.runOnBest(key, opts.tier, async (s) => (await this.#submitter.submit(s, data, []))[0]!));
  }

  /** Compile (or wait for) the tuned schedule of runs of this shape, so that the next such run takes it. */
  async prepare(shape: InputShape, opts: Pick<RunOptions, 'probabilities'> = {}): Promise<void> {
    const { batch, height, width } = shape;
    await this.#schedules.tuned({ batch, height, width, layout: engineLayout(shape.layout), keepStages: false, softmax: !!opts.probabilities });
  }

  /**
   * Run on an input produced on the GPU: `fill` records commands that write the input buffer (e.g. the
   * preprocessing kernel) into the same command buffer as the network, so images to predictions is one submit.
   * With `timed` (and timestamp-query), every stage pass and the one pass `fill` records get GPU timestamps
   * from this same submit: `fill` must hand `timestampWrites` to its pass.
   */
  async runOnGpuInput(
    shape: { batch: number; height: number; width: number; layout: InputLayout },
    fill: InputFill,
    opts: RunOptions & { timed?: boolean; fillName?: string } = {},
  ): Promise<GpuInputRun> {
    const key = { ...shape, keepStages: false, softmax: !!opts.probabilities };
    return this.#serial(() =>
      this.#schedules.runOnBest(key, opts.tier, async (s) =>
        opts.timed && this.gpu.report.features.timestampQuery
          ? this.#submitter.submitTimed(s, fill, opts.fillName ?? 'input')
          : { output: (await this.#submitter.submit(s, fill, []))[0]! },
      ),
    );
  }

  /**
   * Logits plus every `features.i` output (dense NCHW), for verification against a reference. It runs the
   * tuned schedule, or with `tier: 'quick'` the quick-start one.
   */
  async runStages(input: Float32Array | InputTensor, opts: { tier?: 'tuned' | 'quick' } = {}): Promise<{ logits: Float32Array; stages: StageDump[] }> {
    this.#assertLive();
    const { data, ...shape } = checkInput(input, this.spec.resolution);
    return this.#serial(async () => {
      const key = { ...shape, keepStages: true, softmax: false };
      const s = await (opts.tier === 'quick' ? this.#schedules.quick(key) : this.#schedules.tuned(key));
      const [logits, ...raw] = await this.#submitter.submit(s, data, s.built.stageOutputs.map((o) => o.tensor));
      return { logits: logits!, stages: stageDumps(s.built, raw) };
    });
  }

  /**
   * The activation arena that runs of this shape use now: the tuned schedule's once compiled, else the
   * quick-start one's; it compiles nothing that a run has not already asked for (unless none has run yet).
   */
  async activationArena(batch: number, height: number, width: number, layout: InputLayout = 'nchw', softmax = false): Promise<ArenaPlan> {
    return (await this.#schedules.inUse({ batch, height, width, layout, keepStages: false, softmax })).compiled.arena;
  }

  /** Release every GPU buffer this model made (and the device, when the model acquired it). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const b of this.#weights.values()) b.destroy();
    this.#weights.clear();
    this.#submitter.destroy();
    this.#schedules.destroy();
    if (this.#ownsDevice) this.gpu.destroy();
  }

  #assertLive(): void {
    if (this.#disposed) throw new EffnetError('DISPOSED', 'this model was disposed');
  }

  /** Inferences share the arena, so they run one at a time. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }
}

/** What the planners shape launches for: the adapter's kind unless `forced`, the subgroups it runs, measured tiles. */
export function launchTarget(report: AdapterReport, forced: ModelOptions['target'], tier: 'tuned' | 'quick' = 'tuned', tuning?: TuningChoices): LaunchTarget {
  const isFallback = forced === 'gpu' ? false : forced === 'fallback' ? true : report.isFallback;
  return { isFallback, tier, subgroups: report.features.subgroups, ...(tuning ? { tuning } : {}) };
}
