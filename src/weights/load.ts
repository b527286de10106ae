/**
 * One entry for every weight source: a safetensors file (torchvision or timm names, told apart by their
 * keys), a TensorFlow.js graph model (directory, model.json URL, or in memory), canonical ModelParams,
 * or 'random' for custom tables. Returns the params and the ArchSpec facts the format implies (TF SAME
 * padding, timm's BN eps), so the caller's table stays the single description of the network.
 */
import { isNode } from '../env.js';
import { EffnetError } from '../errors.js';
import type { ArchSpec } from '../model/tables.js';
import { parseSafetensors, type SafetensorsFile } from '../safetensors.js';
import type { ModelParams } from './params.js';
import { paramsFromTorchvision } from './torchvision.js';
import { paramsFromTimm, timmSpecOverrides } from './timm.js';
import { paramsFromTfjsGraph, tfjsSpecOverrides, type TfjsGraphModel } from './tfjs.js';
import { randomParams } from './random.js';
import { checkModelParams } from './check.js';

export type WeightFormat = 'torchvision' | 'timm' | 'tfjs';

export type WeightsSource =
  | 'random'
  | string
  | URL
  | ArrayBuffer
  | Uint8Array
  | SafetensorsFile
  | { modelJson: object; weightData: ArrayBuffer }
  | ModelParams;

export interface WeightOptions {
  /** Force a format instead of detecting it. */
  format?: WeightFormat;
  /** timm model name (e.g. 'tf_efficientnet_b0'): picks padding and BN eps for timm files. */
  timmModel?: string;
  /** Seed for 'random'. */
  seed?: number;
}

export interface ResolvedWeights {
  spec: ArchSpec;
  params: ModelParams;
  format: WeightFormat | 'random' | 'params';
  source: string;
}

export async function resolveWeights(spec: ArchSpec, src: WeightsSource, opts: WeightOptions = {}): Promise<ResolvedWeights> {
  if (src === 'random') return { spec, params: randomParams(spec, opts.seed ?? 1), format: 'random', source: 'random' };
  if (isParams(src)) {
    checkModelParams(src, spec);
    return { spec, params: src, format: 'params', source: '<ModelParams>' };
  }
  if (typeof src === 'object' && 'modelJson' in src) return fromTfjs(spec, src.modelJson as TfjsGraphModel, src.weightData, '<tfjs graph>');
  if (src instanceof ArrayBuffer || src instanceof Uint8Array) return fromSafetensors(spec, parseSafetensors(src), '<buffer>', opts);
  if (typeof src === 'object' && 'tensors' in src && 'get' in src) return fromSafetensors(spec, src as SafetensorsFile, '<safetensors>', opts);

  const where = String(src);
  if (opts.format === 'tfjs' || /model\.json$/.test(where) || (isNode && (await isDirectory(where)))) {
    const { modelJson, weightData } = await readTfjsModel(where);
    return fromTfjs(spec, modelJson, weightData, where);
  }
  const bytes = await readBytes(where);
  return fromSafetensors(spec, parseSafetensors(bytes, { source: where }), where, opts);
}

function fromSafetensors(spec: ArchSpec, file: SafetensorsFile, source: string, opts: WeightOptions): ResolvedWeights {
  const format = opts.format ?? (file.has('conv_stem.weight') ? 'timm' : file.has('features.0.0.weight') ? 'torchvision' : undefined);
  if (format === 'timm') {
    const s = { ...spec, ...timmSpecOverrides(opts.timmModel ?? '') };
    return { spec: s, params: paramsFromTimm(file, s, { source }), format, source };
  }
  if (format === 'torchvision') return { spec, params: paramsFromTorchvision(file, spec, { source }), format, source };
  throw new EffnetError(
    'WEIGHTS',
    `${source}: not a torchvision (features.0.0.weight) or timm (conv_stem.weight) EfficientNet state_dict; first tensors: ${file.names().slice(0, 5).join(', ')}`,
  );
}

function fromTfjs(spec: ArchSpec, modelJson: TfjsGraphModel, weightData: ArrayBuffer, source: string): ResolvedWeights {
  const s = { ...spec, ...tfjsSpecOverrides };
  return { spec: s, params: paramsFromTfjsGraph(modelJson, weightData, s, { source }), format: 'tfjs', source };
}

function isParams(x: unknown): x is ModelParams {
  return typeof x === 'object' && x !== null && 'stem' in x && 'blocks' in x && 'classifier' in x;
}

async function isDirectory(path: string): Promise<boolean> {
  const { stat } = await import('node:fs/promises');
  return stat(path).then((s) => s.isDirectory(), () => false);
}

async function readBytes(where: string): Promise<Uint8Array> {
  try {
    if (isNode && !/^https?:/.test(where)) {
      const { readFile, stat } = await import('node:fs/promises');
      const s = await stat(where);
      if (s.isDirectory()) throw new Error('is a directory');
      return new Uint8Array(await readFile(where));
    }
    const r = await fetch(where);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  } catch (cause) {
    throw new EffnetError('IO', `cannot read weights from ${where}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * A TF.js graph model from a directory, a model.json path or URL: model.json plus its shards, concatenated
 * in manifest order (how TF.js itself assembles them).
 */
export async function readTfjsModel(where: string): Promise<{ modelJson: TfjsGraphModel; weightData: ArrayBuffer }> {
  const jsonPath = /model\.json$/.test(where) ? where : `${where.replace(/\/$/, '')}/model.json`;
  const base = jsonPath.slice(0, jsonPath.lastIndexOf('/') + 1);
  let modelJson: TfjsGraphModel;
  try {
    modelJson = JSON.parse(new TextDecoder().decode(await readBytes(jsonPath))) as TfjsGraphModel;
  } catch (cause) {
    if (cause instanceof EffnetError) throw cause;
    throw new EffnetError('WEIGHTS', `${jsonPath}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  const paths = (modelJson.weightsManifest ?? []).flatMap((g) => g.paths);
  if (paths.length === 0) throw new EffnetError('WEIGHTS', `${jsonPath}: no weightsManifest paths (not a TensorFlow.js graph model)`);
  const shards = await Promise.all(paths.map((p) => readBytes(base + p)));
  const total = shards.reduce((a, s) => a + s.byteLength, 0);
  const all = new Uint8Array(total);
  let off = 0;
  for (const s of shards) {
    all.set(s, off);
    off += s.byteLength;
  }
  return { modelJson, weightData: all.buffer };
}
