/**
 * The public model object: weights uploaded once, one compiled schedule per input shape cached (schedules.ts),
 * every input checked before GPU work (tensor-io.ts), and every inference recorded as one command buffer with
 * one submit (submit.ts). Profiling and benchmarks look inside only through instrument.ts.
 */
import { abortable, throwIfAborted } from '../abort.js';
import { EffnetError, isEffnetError } from '../errors.js';
import { adapterName, type Gpu } from '../gpu.js';
import type { Overrides } from '../kernels/library.js';
import { KernelLibrary } from '../kernels/library.js';
import type { ArchSpec } from '../model/tables.js';
import { modelInfo, type ModelInfo } from '../model/info.js';
import type { ModelParams } from '../weights/params.js';
import type { ArenaPlan } from './arena.js';
import { packModel, uploadWeights, type InputLayout } from './builder.js';
import { ScheduleCompiler } from './compile.js';
import { exposeInternals, type TunerHooks } from './instrument.js';
import type { BackendInfo, GpuInputRun, GpuInputTensor, GpuOutput, InputFill, InputShape, InputTensor, ModelMemory, ModelOptions, ModelTuning, RunOptions, ScheduleTarget, StageDump } from './model-types.js';
import { checkModelOptions, checkRunOptions, warnOnce } from './options.js';
import { ScheduleTiers } from './schedules.js';
import { SelfTest } from './self-test.js';
import { Runner } from './runner.js';
import { Submitter } from './submit.js';
import { checkGpuInput, engineLayout, isGpuInput, shapeInput } from './tensor-io.js';

export type { BackendInfo, GpuInputRun, GpuInputTensor, GpuOutput, InputFill, InputShape, InputTensor, ModelMemory, ModelOptions, ModelTuning, RunOptions, ScheduleTarget, StageDump } from './model-types.js';

export class Model {
  readonly #weights: Map<string, GPUBuffer>;
  readonly #schedules: ScheduleTiers;
  readonly #compiler: ScheduleCompiler;
  readonly #submitter: Submitter;
  readonly #runner: Runner;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #ownsDevice: boolean;
  #disposed = false;
  readonly info: ModelInfo;
  /** Which backend runs this model and why (loadModel's choice; a Model made otherwise is WebGPU by construction). */
  backend: BackendInfo;
  /**
   * The input the weights expect: 'tfjs' — [0, 1] RGB, TF-style resize (PREPROCESS_TFJS), for TF-Hub weights
   * that normalise internally; 'torchvision' — ImageNet mean/std (PREPROCESS_TORCHVISION).
   */
  readonly preprocess: 'tfjs' | 'torchvision';
  /** Tiles measured on this device (loaded with the model, added to by a background tuner), their source, what was dropped. */
  readonly #tuning: { choices: Map<string, Overrides>; source: string; warnings: readonly string[] };
  /** A background tuner attached by loadModel (ModelOptions.tune, src/tuning/background.ts). */
  #tuner: TunerHooks | undefined;

  private constructor(
    readonly spec: ArchSpec,
    readonly gpu: Gpu,
    /** @internal The model's pipelines; the tuner and kernel benchmark read it. */
    readonly lib: KernelLibrary,
    packed: Map<string, Float32Array>,
    weights: Map<string, GPUBuffer>,
    ownsDevice: boolean,
    tuning: ModelTuning,
    opts: ModelOptions,
  ) {
    this.info = modelInfo(spec);
    this.backend = { name: 'webgpu', runtime: 'effnet-webgpu', detail: adapterName(gpu.report), reason: 'made with Model.create' };
    this.preprocess = opts.preprocess ?? 'torchvision';
    this.#tuning = { ...tuning, choices: new Map(tuning.choices) };
    this.#weights = weights;
    this.#ownsDevice = ownsDevice;
    this.#submitter = new Submitter(gpu, () => this.#assertLive());
    // 'auto': a hardware adapter runs compiler output CI never saw; SwiftShader's is what CI tests.
    const selfTest = opts.selfTest === 'on' || (opts.selfTest !== 'off' && !gpu.report.isFallback);
    this.#compiler = new ScheduleCompiler({
      spec, packed, weights, lib, report: gpu.report, target: opts.target, subgroups: opts.subgroups !== false, tuning: this.#tuning.choices,
      selfTest: selfTest ? SelfTest.of(gpu.device) : undefined, assertLive: () => this.#assertLive(),
    });
    this.#schedules = new ScheduleTiers((key, tier) => this.#compiler.compile(key, tier), opts.quickStart ?? true, () => this.#assertLive(), opts.scheduleCacheBytes);
    this.#runner = new Runner(this.#schedules, this.#submitter, (key, tier) => this.#compiler.checkLimits(key, tier));
    exposeInternals(this, {
      tuned: (key) => this.#orDisposed(this.#schedules.acquire(() => this.#schedules.tuned(key))),
      run: (schedule, input, timestamps) => this.#serial(async () => (await this.#submitter.submit(schedule, input, [], timestamps))[0]!),
      exclusive: (fn) => this.#serial(async () => (this.#assertLive(), fn())),
      attachTuner: (hooks) => (this.#tuner = hooks),
      isReady: (key) => !this.#disposed && this.#schedules.isReady(key),
      addTuning: (choices, source) => {
        for (const [k, tile] of choices) this.#tuning.choices.set(k, tile);
        this.#tuning.source = source;
      },
      retune: (key) => this.#schedules.retune(key, (swap) => this.#serial(async () => swap())),
    });
  }

  /** @internal `loadModel` is the way in. Upload `params`; with `owns`, dispose (or a failure here) ends the device lease. */
  static async create(spec: ArchSpec, params: ModelParams, g: Gpu, owns: boolean, opts: ModelOptions = {}, tuning: ModelTuning = { source: 'none', warnings: [] }): Promise<Model> {
    const weights = new Map<string, GPUBuffer>();
    try {
      checkModelOptions(opts);
      const packed = packModel(spec, params);
      uploadWeights(g.device, packed, weights);
      for (const w of tuning.warnings) warnOnce(w);
      return new Model(spec, g, new KernelLibrary(g.device), packed, weights, owns, tuning, opts);
    } catch (e) {
      for (const b of weights.values()) b.destroy();
      if (owns) g.destroy();
      throw e;
    }
  }

  /** Bytes of weights on the GPU (packed, padded); 0 once disposed. */
  get weightBytes(): number {
    return [...this.#weights.values()].reduce((a, b) => a + b.size, 0);
  }

  /** Output classes (from the table, fixed for the model's life). */
  get classes(): number {
    return this.spec.numClasses;
  }

  /**
   * Logits [N, classes] (or probabilities). A bare Float32Array is taken as NCHW at the model's default
   * resolution with N inferred; pass `{data, shape, layout}` for another size, batch or NHWC. The input is copied
   * when called (mutating it afterwards changes nothing); an output that is not finite throws NUMERIC.
   * `{buffer, shape, layout}` takes the input from a GPUBuffer (GpuInputTensor), and `{ output: 'gpu-buffer' }`
   * keeps the output on the GPU (GpuOutput): either way the run stays one submit.
   */
  async run(input: Float32Array | InputTensor | GpuInputTensor, opts?: RunOptions & { output?: 'array' }): Promise<Float32Array>;
  /** The output left on the GPU, in a buffer the caller owns and destroys (GpuOutput); no NUMERIC check. */
  async run(input: Float32Array | InputTensor | GpuInputTensor, opts: RunOptions & { output: 'gpu-buffer' }): Promise<GpuOutput>;
  async run(input: Float32Array | InputTensor | GpuInputTensor, opts?: RunOptions): Promise<Float32Array | GpuOutput>;
  async run(input: Float32Array | InputTensor | GpuInputTensor, opts: RunOptions = {}): Promise<Float32Array | GpuOutput> {
    this.#assertLive();
    throwIfAborted(opts.signal, 'run');
    checkRunOptions(opts);
    // A GPU input is copied into the network by commands in the run's own command buffer (GpuInputTensor).
    const { data: given, ...shape } = isGpuInput(input) ? await checkGpuInput(input, this.gpu.device) : shapeInput(input, this.spec.resolution);
    const key = { ...shape, keepStages: false, softmax: !!opts.probabilities };
    const data = this.#runner.admit(key, given, opts.tier);
    // An abort rejects the call at once; a run still queued then skips its GPU work, one already submitted
    // finishes (WebGPU cannot recall it) and its result is dropped.
    const out = await abortable(this.#serial(async () => (throwIfAborted(opts.signal, 'run'), this.#runner.output(key, data, opts))), opts.signal, 'run');
    this.#tuner?.afterRun(key);
    return out;
  }

  /**
   * Which device class the schedule is shaped for, which tuning it takes (and what of a cache was dropped),
   * whether it tunes in the background, and what the on-device self-test found in the schedules compiled so far.
   */
  get schedule(): ScheduleTarget {
    return {
      target: this.#compiler.target,
      tuning: { source: this.#tuning.source, entries: this.#tuning.choices.size, warnings: [...this.#tuning.warnings] },
      background: this.#tuner?.status ?? 'off',
      selfTest: this.#compiler.selfTestReport(),
    };
  }

  /** Resolves once every background tuning started so far has finished (its tiles then serve the runs). */
  async backgroundTuning(): Promise<void> {
    await this.#tuner?.settled();
  }

  /** Compile (or wait for) the tuned schedule of runs of this shape, so that the next such run takes it. */
  async prepare(shape: InputShape, opts: Pick<RunOptions, 'probabilities'> = {}): Promise<void> {
    const { batch, height, width } = shape;
    const key = { batch, height, width, layout: engineLayout(shape.layout), keepStages: false, softmax: !!opts.probabilities };
    this.#runner.checkLimits(key, 'tuned');
    // Not queued behind inferences (runs go on, on the quick schedule, while this compiles), so it maps its own failures.
    await this.#orDisposed(this.#schedules.tuned(key));
  }

  /**
   * Run on an input produced on the GPU: `fill` records commands that write the input buffer (e.g. the
   * preprocessing kernel) into the same command buffer as the network, so images to predictions is one submit.
   * With `timed` (and timestamp-query), every stage pass and the one pass `fill` records get GPU timestamps
   * from this same submit: `fill` must hand `timestampWrites` to its pass.
   */
  async runOnGpuInput(shape: { batch: number; height: number; width: number; layout: InputLayout }, fill: InputFill, opts: RunOptions & { timed?: boolean; fillName?: string } = {}): Promise<GpuInputRun> {
    const timed = opts.timed && this.gpu.report.features.timestampQuery ? (opts.fillName ?? 'input') : false;
    const key = { ...shape, keepStages: false, softmax: !!opts.probabilities };
    this.#runner.checkLimits(key, opts.tier);
    return this.#serial(() => this.#runner.filled(key, fill, opts.tier, timed));
  }

  /**
   * Logits plus every `features.i` output (dense NCHW), for verification against a reference. It runs the
   * tuned schedule, or with `tier: 'quick'` the quick-start one.
   */
  async runStages(input: Float32Array | InputTensor, opts: { tier?: 'tuned' | 'quick' } = {}): Promise<{ logits: Float32Array; stages: StageDump[] }> {
    this.#assertLive();
    const { data, ...shape } = shapeInput(input, this.spec.resolution);
    const key = { ...shape, keepStages: true, softmax: false };
    const tier = opts.tier ?? 'tuned';
    const copy = this.#runner.admit(key, data, tier);
    return this.#serial(() => this.#runner.stages(key, copy, tier));
  }

  /**
   * The activation arena that runs of this shape use now: the tuned schedule's once compiled, else the
   * quick-start one's; it compiles nothing that a run has not already asked for (unless none has run yet).
   */
  async activationArena(batch: number, height: number, width: number, layout: InputLayout = 'nchw', softmax = false): Promise<ArenaPlan> {
    const key = { batch, height, width, layout, keepStages: false, softmax };
    this.#runner.checkLimits(key, 'tuned');
    return (await this.#orDisposed(this.#schedules.inUse(key))).compiled.arena;
  }

  /**
   * GPU memory this model holds now, exact from its own allocations: weights, the compiled schedules (activation
   * arenas and uniforms, bounded by `scheduleCacheBytes`) and the read-back staging buffers.
   */
  memory(): ModelMemory {
    this.#assertLive();
    const schedules = this.#schedules.usage();
    const stagingBytes = this.#submitter.bytes;
    return { weightBytes: this.weightBytes, schedules, stagingBytes, totalBytes: this.weightBytes + schedules.bytes + stagingBytes };
  }

  /**
   * Release every GPU buffer this model made (and its lease on the shared device, when it took one). It returns
   * at once: schedule compiles still in flight are detached and destroy what they made when they settle.
   */
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

  /**
   * Inferences share the arena, so they run one at a time. Work that dispose() cut short — a pending map WebGPU
   * aborts with a bare AbortError, a compile on a destroyed device, the owned device's loss — is reported as the
   * DISPOSED it is.
   */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#orDisposed(this.#queue.then(fn, fn));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Work that dispose() cut short fails with DISPOSED, whatever the GPU or the compiler said underneath. */
  #orDisposed<T>(work: Promise<T>): Promise<T> {
    return work.catch((e: unknown) => {
      throw this.#disposed && !isEffnetError(e, 'DISPOSED') ? new EffnetError('DISPOSED', 'the model was disposed while this call was in flight', { cause: e }) : e;
    });
  }
}
