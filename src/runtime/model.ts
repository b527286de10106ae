/**
 * The public model object: weights uploaded once, one compiled schedule per input shape cached (schedules.ts),
 * every input checked before GPU work (tensor-io.ts), and every inference recorded as one command buffer with
 * one submit (submit.ts). Profiling and benchmarks look inside only through instrument.ts.
 */
import { createBuffer } from '../buffers.js';
import { abortable, throwIfAborted } from '../abort.js';
import { EffnetError, isEffnetError } from '../errors.js';
import type { AdapterReport, Gpu } from '../gpu.js';
import type { LaunchTarget } from '../kernels/launch.js';
import { pipelineKey } from '../kernels/library.js';
import type { TuningChoices } from '../kernels/tuning.js';
import { resolveTuning, writeTuningCache, type TuningReadOptions } from '../tuning-file.js';
import { tuneModel } from '../tune.js';
import { isNode } from '../env.js';
import type { Overrides } from '../kernels/library.js';
import { KernelLibrary } from '../kernels/library.js';
import type { ArchSpec } from '../model/tables.js';
import { modelInfo, type ModelInfo } from '../model/info.js';
import type { ModelParams } from '../weights/params.js';
import type { ArenaPlan } from './arena.js';
import { buildGraph, packModel, type InputLayout } from './builder.js';
import { CompiledGraph } from './executor.js';
import { exposeInternals } from './instrument.js';
import type { GpuInputRun, GpuInputTensor, GpuOutput, InputFill, InputShape, InputTensor, ModelMemory, ModelOptions, RunOptions, ScheduleTarget, StageDump } from './model-types.js';
import { ScheduleTiers, type ScheduleKey } from './schedules.js';
import { SelfTest } from './self-test.js';
import { Submitter, type InputSource } from './submit.js';
import { checkGpuInput, checkInput, engineLayout, firstNonFinite, isGpuInput, nonFiniteError, stageDumps } from './tensor-io.js';

export type { GpuInputRun, GpuInputTensor, GpuOutput, InputFill, InputShape, InputTensor, ModelMemory, ModelOptions, RunOptions, ScheduleTarget, StageDump } from './model-types.js';

export class Model {
  readonly #weights: Map<string, GPUBuffer>;
  readonly #schedules: ScheduleTiers;
  readonly #submitter: Submitter;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #ownsDevice: boolean;
  #disposed = false;
  readonly info: ModelInfo;
  /**
   * The input the weights expect: 'tfjs' — [0, 1] RGB, TF-style resize (PREPROCESS_TFJS), for TF-Hub weights
   * that normalise internally; 'torchvision' — ImageNet mean/std (PREPROCESS_TORCHVISION).
   */
  readonly preprocess: 'tfjs' | 'torchvision';
  readonly #target: ScheduleTarget['target'];
  /** Tiles measured on this device: loaded with the model, and added to by background tuning. */
  readonly #tuning: Map<string, Overrides>;
  #tuningSource: string;
  readonly #background: ScheduleTarget['background'];
  readonly #tuneBudgetS: number;
  /** Shapes whose background tuning has started, and the jobs themselves. */
  readonly #tunedShapes = new Set<string>();
  readonly #jobs: Promise<void>[] = [];
  readonly #tuningWarnings: readonly string[];
  /** The device's self-test when this model runs it (ModelOptions.selfTest), the variants its schedules used, and the replacements made. */
  readonly #selfTest: SelfTest | undefined;
  readonly #variants = new Set<string>();
  readonly #replaced = new Map<string, string>();

  private constructor(
    readonly spec: ArchSpec,
    readonly gpu: Gpu,
    /** @internal The model's pipelines; the tuner and kernel benchmark read it. */
    readonly lib: KernelLibrary,
    packed: Map<string, Float32Array>,
    weights: Map<string, GPUBuffer>,
    ownsDevice: boolean,
    quickStart: boolean,
    target: ModelOptions['target'],
    tuning: { choices?: TuningChoices; source: string; warnings: readonly string[] },
    opts: Pick<ModelOptions, 'tune' | 'tuneBudgetS' | 'scheduleCacheBytes' | 'preprocess' | 'selfTest' | 'subgroups'>,
  ) {
    this.info = modelInfo(spec);
    this.preprocess = opts.preprocess ?? 'torchvision';
    const useSubgroups = opts.subgroups !== false;
    this.#target = launchTarget(gpu.report, target).isFallback ? 'fallback' : 'gpu';
    this.#tuning = new Map(tuning.choices);
    this.#tuningSource = tuning.source;
    this.#tuningWarnings = tuning.warnings;
    // 'auto': a hardware adapter runs compiler output CI never saw; SwiftShader's is what CI tests.
    const selfTest = opts.selfTest ?? 'auto';
    this.#selfTest = selfTest === 'on' || (selfTest === 'auto' && !gpu.report.isFallback) ? SelfTest.of(gpu.device) : undefined;
    // Tuning compiles dozens of candidate pipelines: cheap on a GPU's driver, minutes of CPU on a software one.
    this.#background = opts.tune !== 'background' ? 'off' : gpu.report.isFallback ? 'skipped: a software adapter compiles too slowly' : 'on';
    this.#tuneBudgetS = opts.tuneBudgetS ?? 20;
    this.#weights = weights;
    this.#ownsDevice = ownsDevice;
    this.#submitter = new Submitter(gpu, () => this.#assertLive());
    const compile = async (key: ScheduleKey, tier: 'tuned' | 'quick') => {
      const t = launchTarget(gpu.report, target, tier, this.#tuning.size ? this.#tuning : undefined, { subgroups: useSubgroups, avoid: this.#selfTest?.avoid });
      let built = buildGraph(spec, packed, { ...key, target: t });
      // Every variant the schedule runs passes the self-test before its first use; one that fails is swapped for
      // its next variant, which is checked in turn (a launch has at most three, so this ends).
      while (this.#selfTest) {
        await this.#selfTest.verify(lib, built.ops);
        if (!built.ops.some((o) => this.#selfTest!.avoid.has(pipelineKey(o.kernel, o.overrides)))) break;
        built = buildGraph(spec, packed, { ...key, target: t });
      }
      for (const o of built.ops) this.#variants.add(pipelineKey(o.kernel, o.overrides));
      for (const r of built.replaced) this.#replaced.set(r.from, r.to);
      return { built, compiled: await CompiledGraph.create(lib, built, weights, spec.name, () => this.#assertLive()) };
    };
    this.#schedules = new ScheduleTiers(compile, quickStart, () => this.#assertLive(), opts.scheduleCacheBytes);
    exposeInternals(this, {
      tuned: (key) => this.#orDisposed(this.#schedules.acquire(() => this.#schedules.tuned(key))),
      run: (schedule, input, timestamps) => this.#serial(async () => (await this.#submitter.submit(schedule, input, [], timestamps))[0]!),
      exclusive: (fn) => this.#serial(async () => (this.#assertLive(), fn())),
    });
  }

  /** @internal `loadModel` is the public way in. Upload `params` for `spec` on `gpu`; with `owns`, `dispose` (or a failure here) calls `gpu.destroy()` (which ends a shared-device lease). */
  static async create(spec: ArchSpec, params: ModelParams, g: Gpu, owns: boolean, opts: ModelOptions = {}, io: TuningReadOptions = {}): Promise<Model> {
    const weights = new Map<string, GPUBuffer>();
    try {
      const packed = packModel(spec, params);
      for (const [key, data] of packed) {
        weights.set(key, createBuffer(g.device, { label: `weight ${key}`, bytes: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, data }));
      }
      if (opts.target !== undefined && !['auto', 'gpu', 'fallback'].includes(opts.target)) {
        throw new EffnetError('INPUT', `target must be 'auto', 'gpu' or 'fallback', got '${String(opts.target)}'`);
      }
      if (opts.tune !== undefined && opts.tune !== 'off' && opts.tune !== 'background') {
        throw new EffnetError('INPUT', `tune must be 'off' or 'background', got '${String(opts.tune)}'`);
      }
      if (opts.tuneBudgetS !== undefined && !(opts.tuneBudgetS > 0)) throw new EffnetError('INPUT', `tuneBudgetS must be a positive number of seconds, got ${opts.tuneBudgetS}`);
      if (opts.selfTest !== undefined && !['auto', 'on', 'off'].includes(opts.selfTest)) throw new EffnetError('INPUT', `selfTest must be 'auto', 'on' or 'off', got '${String(opts.selfTest)}'`);
      if (opts.subgroups !== undefined && typeof opts.subgroups !== 'boolean') throw new EffnetError('INPUT', `subgroups must be true or false, got ${String(opts.subgroups)}`);
      const tuning = await resolveTuning(opts.tuning, g.report, io);
      for (const w of tuning.warnings) warnOnce(w);
      return new Model(spec, g, new KernelLibrary(g.device), packed, weights, owns, opts.quickStart ?? true, opts.target, tuning, opts);
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
    if (opts.output !== undefined && opts.output !== 'array' && opts.output !== 'gpu-buffer') {
      throw new EffnetError('INPUT', `output must be 'array' or 'gpu-buffer', got '${String(opts.output)}'`);
    }
    // A GPU input is copied into the network by commands in the run's own command buffer (GpuInputTensor).
    const { data, ...shape } = isGpuInput(input) ? await checkGpuInput(input, this.gpu.device) : checkInput(input, this.spec.resolution);
    const key = { ...shape, keepStages: false, softmax: !!opts.probabilities };
    const once: () => Promise<Float32Array | GpuOutput> =
      opts.output === 'gpu-buffer'
        ? async () => {
            const r = await this.#schedules.runOnBest(key, opts.tier, (s) => this.#submitter.submitToBuffer(s, data));
            // abortable drops a result that arrives after an abort: nobody would own (and destroy) this buffer.
            if (opts.signal?.aborted) r.buffer.destroy();
            return r;
          }
        : async () => {
            const y = await this.#schedules.runOnBest(key, opts.tier, async (s) => (await this.#submitter.submit(s, data, []))[0]!);
            await this.#assertFinite(y, key, data, opts.tier);
            return y;
          };
    // An abort rejects the call at once; a run still queued then skips its GPU work, one already submitted
    // finishes (WebGPU cannot recall it) and its result is dropped.
    const out = await abortable(this.#serial(async () => (throwIfAborted(opts.signal, 'run'), once())), opts.signal, 'run');
    this.#tuneLater(key);
    return out;
  }

  /**
   * Which device class the schedule is shaped for, which tuning it takes (and what of a cache was dropped),
   * whether it tunes in the background, and what the on-device self-test found in the schedules compiled so far.
   */
  get schedule(): ScheduleTarget {
    const checks = this.#selfTest?.checks.filter((c) => this.#variants.has(c.variant) || this.#replaced.has(c.variant)) ?? [];
    return {
      target: this.#target,
      tuning: { source: this.#tuningSource, entries: this.#tuning.size, warnings: [...this.#tuningWarnings] },
      background: this.#background,
      selfTest: {
        enabled: this.#selfTest !== undefined,
        checked: checks.length,
        ms: checks.reduce((a, c) => a + c.ms, 0),
        failed: checks.filter((c) => c.status === 'fail').map((c) => ({ variant: c.variant, message: c.message, replacedBy: this.#replaced.get(c.variant) })),
        variants: checks.map(({ variant, status, ms, message }) => ({ variant, status, ms, message })),
      },
    };
  }

  /** Resolves once every background tuning started so far has finished (its tiles then serve the runs). */
  async backgroundTuning(): Promise<void> {
    await Promise.all(this.#jobs);
  }

  /**
   * Background tuning (ModelOptions.tune): once a shape runs on its tuned schedule, time candidate tiles for its
   * launches (src/tune.ts; queued between inferences), add the winners to the model's tuning (and Node's
   * cache), then compile the retuned schedule and swap it in between inferences. A failure — the model
   * disposed meanwhile, a compile error — leaves the planned schedule serving.
   */
  #tuneLater(key: ScheduleKey): void {
    const id = `${key.batch}x${key.height}x${key.width}|${key.layout}|${key.softmax}`;
    if (this.#background !== 'on' || this.#disposed || this.#tunedShapes.has(id) || !this.#schedules.isReady(key)) return;
    this.#tunedShapes.add(id);
    const job = (async () => {
      const r = await tuneModel(this, { batch: key.batch, height: key.height, width: key.width, layout: key.layout, softmax: key.softmax, budgetS: this.#tuneBudgetS });
      if (this.#disposed || r.tuning.length === 0) return;
      for (const c of r.tuning) this.#tuning.set(c.key, c.tile);
      this.#tuningSource = isNode ? await writeTuningCache(this.gpu.report, r.tuning).catch(() => 'background') : 'background';
      await this.#schedules.retune(key, (swap) => this.#serial(async () => swap()));
    })().catch(() => undefined);
    this.#jobs.push(job);
  }

  /** Compile (or wait for) the tuned schedule of runs of this shape, so that the next such run takes it. */
  async prepare(shape: InputShape, opts: Pick<RunOptions, 'probabilities'> = {}): Promise<void> {
    const { batch, height, width } = shape;
    // Not queued behind inferences (runs go on, on the quick schedule, while this compiles), so it maps its own failures.
    await this.#orDisposed(this.#schedules.tuned({ batch, height, width, layout: engineLayout(shape.layout), keepStages: false, softmax: !!opts.probabilities }));
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
    return this.#serial(async () => {
      const r = await this.#schedules.runOnBest(key, opts.tier, async (s) =>
        opts.timed && this.gpu.report.features.timestampQuery
          ? this.#submitter.submitTimed(s, fill, opts.fillName ?? 'input')
          : { output: (await this.#submitter.submit(s, fill, []))[0]! },
      );
      await this.#assertFinite(r.output, key, (enc, input) => fill(enc, input), opts.tier);
      return r;
    });
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
      return this.#schedules.use(
        () => (opts.tier === 'quick' ? this.#schedules.quick(key) : this.#schedules.tuned(key)),
        async (s) => {
          const [logits, ...raw] = await this.#submitter.submit(s, data, s.built.stageOutputs.map((o) => o.tensor));
          const stages = stageDumps(s.built, raw);
          const bad = firstNonFinite(logits!);
          if (bad) throw nonFiniteError('logits', bad, stages);
          return { logits: logits!, stages };
        },
      );
    });
  }

  /**
   * The activation arena that runs of this shape use now: the tuned schedule's once compiled, else the
   * quick-start one's; it compiles nothing that a run has not already asked for (unless none has run yet).
   */
  async activationArena(batch: number, height: number, width: number, layout: InputLayout = 'nchw', softmax = false): Promise<ArenaPlan> {
    return (await this.#orDisposed(this.#schedules.inUse({ batch, height, width, layout, keepStages: false, softmax }))).compiled.arena;
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

  /**
   * Throw NUMERIC if `output` (of `input` on the schedule for `key`) holds a non-finite value. Only then is the
   * input run again, on the schedule that keeps every stage output, to name where float32 overflowed: the run
   * that succeeds stays one submit. Called inside the serial queue, so the arena is still this run's.
   */
  async #assertFinite(output: Float32Array, key: ScheduleKey, input: InputSource, tier: RunOptions['tier']): Promise<void> {
    const bad = firstNonFinite(output);
    if (!bad) return;
    const k = { ...key, keepStages: true, softmax: false };
    const stages = await this.#schedules.use(
      () => (tier === 'tuned' ? this.#schedules.tuned(k) : this.#schedules.quick(k)),
      async (s) => stageDumps(s.built, (await this.#submitter.submit(s, input, s.built.stageOutputs.map((o) => o.tensor))).slice(1)),
    );
    throw nonFiniteError(key.softmax ? 'probabilities' : 'logits', bad, stages);
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

/**
 * What the planners shape launches for: the adapter's kind unless `forced`, the subgroups it runs (unless switched
 * off), measured tiles, and the variants the self-test found wrong here.
 */
export function launchTarget(
  report: AdapterReport, forced: ModelOptions['target'], tier: 'tuned' | 'quick' = 'tuned', tuning?: TuningChoices,
  o: { subgroups?: boolean; avoid?: ReadonlySet<string> } = {},
): LaunchTarget {
  const isFallback = forced === 'gpu' ? false : forced === 'fallback' ? true : report.isFallback;
  return { isFallback, tier, subgroups: report.features.subgroups && o.subgroups !== false, ...(tuning ? { tuning } : {}), ...(o.avoid ? { avoid: o.avoid } : {}) };
}

const warned = new Set<string>();

/** A warning about the process's environment (a tuning cache entry dropped), said once per process. */
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(`effnet-webgpu: ${message}`);
}
