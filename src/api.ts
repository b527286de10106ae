/**
 * `loadModel`: the one call an application makes. Works the same in Node and in the browser.
 *
 *   const model = await loadModel({ arch: 'efficientnet_b0', weights: 'efficientnet_b0.safetensors' });
 *   const logits = await model.run(nchwFloat32);   // [N, 1000]
 *   model.dispose();
 */
import { throwIfAborted } from './abort.js';
import { EffnetError, isEffnetError, type ErrorCode } from './errors.js';
import { adapterName, leaseSharedGpu, wrapDevice, type Gpu } from './gpu.js';
import { getArch, validateArch, type ArchName, type ArchSpec } from './model/tables.js';
import { resolveWeights } from './weights/load.js';
import type { WeightOptions, WeightsSource } from './weights/types.js';
import { serializeEffnetWeights } from './weights/effnet-format.js';
import { Model } from './runtime/model.js';
import type { InputShape, ModelOptions } from './runtime/model-types.js';
import { checkModelOptions } from './runtime/options.js';
import { attachBackgroundTuner } from './tuning/background.js';
import { resolveTuning } from './tuning/file.js';
import { classifySize } from './classify.js';
import { CpuModel } from './cpu/model.js';
import { cpuRuntime, type CpuRuntime, type CpuRuntimeOptions } from './cpu/runtime.js';
import type * as web from './platform-types.js';

/** ModelOptions (each documented there), plus where the weights come from and which device runs them. */
export interface LoadModelOptions extends WeightOptions, Omit<ModelOptions, 'preprocess'> {
  /**
   * Which backend runs the model. 'auto' (default): our WebGPU kernels on a hardware adapter; the CPU runtime
   * (`cpu`) when WebGPU is absent, offers no adapter, or only a software one (SwiftShader, WARP, llvmpipe) — and
   * WebGPU after all, software adapter or not, when no CPU runtime is installed or configured. 'webgpu' never
   * falls back; 'cpu' always runs on the CPU runtime. `model.backend` says which ran and why. Giving a `device`
   * means 'webgpu'. The options only our WebGPU kernels take (device, quickStart, target, tuning, tune,
   * tuneBudgetS, scheduleCacheBytes, selfTest, subgroups) are one INPUT error naming them with 'cpu'; when
   * 'auto' runs on the CPU, `model.backend.reason` names those that were given and did not apply.
   */
  backend?: 'auto' | 'webgpu' | 'cpu';
  /** The CPU runtime's settings: in a browser LiteRT.js's module and wasm URL (required there for the fallback). */
  cpu?: CpuRuntimeOptions;
  /**
   * A zoo name ('efficientnet_b0' … 'efficientnet_v2_xl', 'effnetv2_s', …) or a custom stage table; omitted, a
   * state dict's keys and shapes name it (family, variant and width: `inferArch`).
   */
  arch?: ArchName | ArchSpec;
  /** Weights: a path/URL (.safetensors, TF.js model dir or model.json), bytes, ModelParams, or 'random'. */
  weights: WeightsSource;
  /**
   * Run on this device / acquired GPU. Omitted, the model leases the process's shared device (acquired on first
   * use and kept, since creating a device per model grows the process); dispose() ends the lease.
   */
  device?: web.GPUDevice | Gpu;
  /**
   * Compile the tuned schedule of these runs before resolving, so the first of them is as fast as the hundredth
   * (quick start would otherwise serve it from quick pipelines while the tuned ones compile in the background):
   * 'classify' (what `classify` runs for one image at the model's resolution) and/or input shapes (`run`'s,
   * logits). The compile time moves into loadModel instead (README: "Quick start and warm-up").
   */
  prepare?: 'classify' | readonly (InputShape | 'classify')[];
}

/** loadModel's options that only our WebGPU kernels take: none of them changes what the CPU backend does. */
const WEBGPU_ONLY_OPTIONS = ['device', 'quickStart', 'target', 'tuning', 'tune', 'tuneBudgetS', 'scheduleCacheBytes', 'selfTest', 'subgroups'] as const satisfies readonly (keyof LoadModelOptions)[];

/** A model either backend runs: both have `run`, `classify` takes both, `dispose`, `memory()` and `backend`. */
export type LoadedModel = Model | CpuModel;

/**
 * Options are checked before anything is read; then the backend ('auto': the adapter, and the CPU runtime when the
 * adapter is missing or software), the weights (and the architecture they imply), for WebGPU the tuning for that
 * device's adapter; the model; and a background tuner when asked for.
 */
export async function loadModel(opts: LoadModelOptions & ({ backend: 'webgpu' } | { device: web.GPUDevice | Gpu })): Promise<Model>;
export async function loadModel(opts: LoadModelOptions & { backend: 'cpu' }): Promise<CpuModel>;
export async function loadModel(opts: LoadModelOptions): Promise<LoadedModel>;
export async function loadModel(opts: LoadModelOptions): Promise<LoadedModel> {
  if (!opts) throw new EffnetError('MODEL_SPEC', 'loadModel needs { weights } (and arch, unless the weights are a state dict)');
  if (opts.weights === undefined) {
    throw new EffnetError('WEIGHTS', "loadModel needs weights: a .safetensors path/URL, a TF.js model, ModelParams, or 'random'");
  }
  const { quickStart, target, tune, tuneBudgetS, scheduleCacheBytes, selfTest, subgroups, signal, timeoutMs } = opts;
  const options: ModelOptions = { quickStart, target, tune, tuneBudgetS, scheduleCacheBytes, selfTest, subgroups };
  checkModelOptions(options);
  const backend = opts.backend ?? 'auto';
  if (!['auto', 'webgpu', 'cpu'].includes(backend)) throw new EffnetError('INPUT', `backend must be 'auto', 'webgpu' or 'cpu', got '${String(backend)}'`);
  // Given, an option the CPU backend cannot honour is refused rather than silently dropped.
  const gpuOnly = WEBGPU_ONLY_OPTIONS.filter((k) => opts[k] !== undefined);
  if (backend === 'cpu' && gpuOnly.length) {
    throw new EffnetError('INPUT', `backend 'cpu' takes none of the WebGPU-only options, got ${gpuOnly.join(', ')}: leave ${gpuOnly.length === 1 ? 'it' : 'them'} out, or ask for backend 'auto' or 'webgpu'`);
  }
  const prepare = preparedRuns(opts.prepare);
  const base = archOf(opts.arch);
  throwIfAborted(signal, 'loadModel');
  // The backend first: without WebGPU and without a CPU runtime no byte of the weights is requested.
  const chosen = await chooseBackend(backend, opts);
  if ('cpu' in chosen) {
    // 'auto' could not know before it looked: no error, but the reason says what was not applied.
    const reason = gpuOnly.length ? `${chosen.reason}; the WebGPU-only ${gpuOnly.join(', ')} did not apply` : chosen.reason;
    return loadCpuModel(base, opts, chosen.cpu, reason, prepare);
  }
  const given = opts.device === undefined ? undefined : 'queue' in opts.device ? wrapDevice(opts.device) : opts.device;
  const gpu = given ?? chosen.gpu!;
  let model: Model;
  try {
    const { spec, params, preprocess } = await resolveWeights(base, opts.weights, opts);
    throwIfAborted(signal, 'loadModel (after reading the weights)');
    const tuning = await resolveTuning(opts.tuning, gpu.report, { signal, timeoutMs });
    throwIfAborted(signal, 'loadModel (after reading the tuning)');
    model = await Model.create(spec, params, gpu, given === undefined, { ...options, preprocess }, tuning);
  } catch (e) {
    if (!given) gpu.destroy();
    throw e;
  }
  model.backend = { name: 'webgpu', runtime: 'effnet-webgpu', detail: adapterName(gpu.report), reason: chosen.reason };
  // Uploading the weights and compiling cannot be cut short midway; an abort during them still rejects, and
  // the model they built is disposed (its GPU buffers freed) rather than handed to a caller who gave up.
  if (signal?.aborted) {
    model.dispose();
    throwIfAborted(signal, 'loadModel (while uploading the weights and compiling)');
  }
  try {
    for (const run of prepare) {
      const res = classifySize(model);
      if (run === 'classify') await model.prepare({ batch: 1, height: res, width: res, layout: 'NHWC' }, { probabilities: true });
      else await model.prepare(run);
      throwIfAborted(signal, 'loadModel (while compiling the prepared runs)');
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  if (tune === 'background') attachBackgroundTuner(model, tuneBudgetS);
  return model;
}

type Chosen = { gpu?: Gpu; reason: string } | { cpu: CpuRuntime; reason: string };

/**
 * The backend `backend` means here. 'auto' keeps a hardware adapter; a missing or software one goes to the CPU
 * runtime when there is one, else stays (software adapter) or fails with what is missing (no WebGPU and no CPU
 * runtime: the WebGPU error, naming the fallback that would have run).
 */
async function chooseBackend(backend: 'auto' | 'webgpu' | 'cpu', opts: LoadModelOptions): Promise<Chosen> {
  if (backend === 'cpu') return { cpu: await cpuRuntime(opts.cpu), reason: "backend 'cpu' was asked for" };
  if (opts.device !== undefined) return { reason: 'a device was given' };
  if (backend === 'webgpu') return { gpu: await leaseSharedGpu(), reason: "backend 'webgpu' was asked for" };
  let gpu: Gpu;
  try {
    gpu = await leaseSharedGpu();
  } catch (e) {
    if (!isEffnetError(e, 'NO_WEBGPU') && !isEffnetError(e, 'NO_ADAPTER')) throw e;
    try {
      return { cpu: await cpuRuntime(opts.cpu), reason: `no WebGPU here (${e.code}: ${e.message})` };
    } catch (cpuError) {
      if (!isEffnetError(cpuError, 'CPU_RUNTIME')) throw cpuError;
      throw new EffnetError(e.code, `${e.message} The CPU fallback is not available either: ${cpuError.message}`, { cause: e });
    }
  }
  if (!gpu.report.isFallback) return { gpu, reason: `a hardware adapter (${adapterName(gpu.report)})` };
  try {
    const cpu = await cpuRuntime(opts.cpu);
    gpu.destroy();
    return { cpu, reason: `the only adapter is a software one (${adapterName(gpu.report)}): the CPU runtime is faster there` };
  } catch (cpuError) {
    if (!isEffnetError(cpuError, 'CPU_RUNTIME')) {
      gpu.destroy();
      throw cpuError;
    }
    return { gpu, reason: `the only adapter is a software one (${adapterName(gpu.report)}) and no CPU runtime is available (${cpuError.message})` };
  }
}

async function loadCpuModel(base: ArchSpec | undefined, opts: LoadModelOptions, runtime: CpuRuntime, reason: string, prepare: readonly (InputShape | 'classify')[]): Promise<CpuModel> {
  const { signal } = opts;
  const { spec, params, preprocess } = await resolveWeights(base, opts.weights, opts);
  throwIfAborted(signal, 'loadModel (after reading the weights)');
  const model = new CpuModel(spec, params, runtime, preprocess, reason);
  try {
    for (const run of prepare) {
      const res = classifySize(model);
      await model.prepare(run === 'classify' ? { batch: 1, height: res, width: res } : run);
      throwIfAborted(signal, 'loadModel (while compiling the prepared runs)');
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** loadModel's `prepare`, checked before anything is read: a list of runs. */
function preparedRuns(p: LoadModelOptions['prepare']): readonly (InputShape | 'classify')[] {
  if (p === undefined) return [];
  const runs = p === 'classify' ? ['classify' as const] : p;
  if (!Array.isArray(runs)) throw new EffnetError('INPUT', `prepare must be 'classify' or an array of input shapes, got ${JSON.stringify(p)}`);
  for (const r of runs) {
    if (r === 'classify') continue;
    const ok = typeof r === 'object' && r !== null && [r.batch, r.height, r.width].every((v) => Number.isInteger(v) && v > 0) && (r.layout === undefined || r.layout === 'NCHW' || r.layout === 'NHWC');
    if (!ok) throw new EffnetError('INPUT', `prepare: each run must be 'classify' or { batch, height, width, layout? } of positive integers, got ${JSON.stringify(r)}`);
  }
  return runs;
}

/** What `isSupported()` found. */
export interface Support {
  /** WebGPU and an adapter are there: `loadModel` can run. */
  supported: boolean;
  /** Why not (`NO_WEBGPU`, `NO_ADAPTER`, …; none for an error that is not the engine's) and the message `loadModel` would throw. */
  code?: ErrorCode;
  reason?: string;
  /** The adapter, as `effnet doctor` names it, and whether it is a software rasteriser (SwiftShader: slow). */
  adapter?: string;
  isFallback?: boolean;
}

/**
 * Whether this browser or Node process can run models, without loading any: WebGPU present, an adapter, a
 * device. It never throws; the device it acquires is the one `loadModel` then shares.
 */
export async function isSupported(): Promise<Support> {
  try {
    const gpu = await leaseSharedGpu();
    const support = { supported: true, adapter: adapterName(gpu.report), isFallback: gpu.report.isFallback };
    gpu.destroy();
    return support;
  } catch (e) {
    return { supported: false, ...(isEffnetError(e) ? { code: e.code } : {}), reason: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Weights from any source `loadModel` takes, as the engine's own safetensors file (BatchNorm folded, the
 * architecture in its metadata): what `effnet export-weights` writes, for a web app to serve as one file.
 */
export async function exportWeights(
  opts: Pick<LoadModelOptions, 'arch' | 'weights'> & WeightOptions & { dtype?: 'F32' | 'F16' },
): Promise<{ spec: ArchSpec; bytes: Uint8Array }> {
  const dtype = opts.dtype ?? 'F32';
  if (dtype !== 'F32' && dtype !== 'F16') throw new EffnetError('WEIGHTS', `exportWeights: dtype must be 'F32' or 'F16', got ${JSON.stringify(opts.dtype)}`);
  const base = archOf(opts.arch);
  const { spec, params, preprocess } = await resolveWeights(base, opts.weights, opts);
  return { spec, bytes: serializeEffnetWeights(spec, params, preprocess, dtype) };
}

/** A zoo name or a custom table as the ArchSpec it names; undefined lets a state dict name its own. */
function archOf(arch: LoadModelOptions['arch']): ArchSpec | undefined {
  return arch === undefined ? undefined : typeof arch === 'string' ? getArch(arch) : validateArch(arch);
}
