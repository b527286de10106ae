/**
 * `loadModel`: the one call an application makes. Works the same in Node and in the browser.
 *
 *   const model = await loadModel({ arch: 'efficientnet_b0', weights: 'efficientnet_b0.safetensors' });
 *   const logits = await model.run(nchwFloat32);   // [N, 1000]
 *   model.dispose();
 */
import { throwIfAborted } from './abort.js';
import { EffnetError } from './errors.js';
import { leaseSharedGpu, wrapDevice, type Gpu } from './gpu.js';
import { getArch, validateArch, type ArchName, type ArchSpec } from './model/tables.js';
import { resolveWeights, type WeightOptions, type WeightsSource } from './weights/load.js';
import { serializeEffnetWeights } from './weights/effnet-format.js';
import { Model } from './runtime/model.js';
import type { TuningSource } from './tuning-file.js';

export interface LoadModelOptions extends WeightOptions {
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
  device?: GPUDevice | Gpu;
  /** See ModelOptions.quickStart (default true: the first result comes from quickly compiled pipelines; the tuned ones take over once compiled). */
  quickStart?: boolean;
  /** See ModelOptions.target: 'auto' (default) shapes the schedule for the adapter; 'gpu' / 'fallback' force one. */
  target?: 'auto' | 'gpu' | 'fallback';
  /** See ModelOptions.tuning: a tuning file (object, path or URL), 'cache' (Node's default) or 'none'. */
  tuning?: TuningSource;
  /** See ModelOptions.tune: 'background' tunes each shape on hardware adapters after its first tuned runs. */
  tune?: 'off' | 'background';
  tuneBudgetS?: number;
  /** See ModelOptions.scheduleCacheBytes: GPU bytes all shapes' compiled schedules may hold (default 256 MiB, LRU). */
  scheduleCacheBytes?: number;
  /** See ModelOptions.selfTest: 'auto' (default: on for hardware adapters), 'on' or 'off'. */
  selfTest?: 'auto' | 'on' | 'off';
  /** See ModelOptions.subgroups: false keeps kernels off the adapter's subgroup operations. */
  subgroups?: boolean;
  /** A tuning URL that sends no byte for this long fails the load with an IO error (default 30 000 ms; 0: no limit). */
  timeoutMs?: number;
}

export async function loadModel(opts: LoadModelOptions): Promise<Model> {
  if (!opts) throw new EffnetError('MODEL_SPEC', 'loadModel needs { weights } (and arch, unless the weights are a state dict)');
  if (opts.weights === undefined) {
    throw new EffnetError('WEIGHTS', "loadModel needs weights: a .safetensors path/URL, a TF.js model, ModelParams, or 'random'");
  }
  const base = archOf(opts.arch);
  const { spec, params, preprocess } = await resolveWeights(base, opts.weights, opts);
  throwIfAborted(opts.signal, 'loadModel');
  const gpu = opts.device === undefined ? undefined : 'queue' in opts.device ? wrapDevice(opts.device) : opts.device;
  const { quickStart, target, tuning, tune, tuneBudgetS, scheduleCacheBytes, selfTest, subgroups, signal, timeoutMs } = opts;
  return Model.create(spec, params, gpu ?? (await leaseSharedGpu()), gpu === undefined, { quickStart, target, tuning, tune, tuneBudgetS, scheduleCacheBytes, preprocess, selfTest, subgroups }, { signal, timeoutMs });
}

/**
 * Weights from any source `loadModel` takes, as the engine's own safetensors file (BatchNorm folded, the
 * architecture in its metadata): what `effnet export-weights` writes, for a web app to serve as one file.
 */
export async function exportWeights(opts: Pick<LoadModelOptions, 'arch' | 'weights'> & WeightOptions): Promise<{ spec: ArchSpec; bytes: Uint8Array }> {
  const base = archOf(opts.arch);
  const { spec, params, preprocess } = await resolveWeights(base, opts.weights, opts);
  return { spec, bytes: serializeEffnetWeights(spec, params, preprocess) };
}

/** A zoo name or a custom table as the ArchSpec it names; undefined lets a state dict name its own. */
function archOf(arch: LoadModelOptions['arch']): ArchSpec | undefined {
  return arch === undefined ? undefined : typeof arch === 'string' ? getArch(arch) : validateArch(arch);
}
