/**
 * One entry for every weight source: a safetensors file or a PyTorch checkpoint (torchvision, timm,
 * EfficientNet-PyTorch or standalone-EfficientNetV2 names, told apart by their keys), a TensorFlow.js graph
 * model (directory, model.json URL, or in memory), canonical ModelParams, or 'random' for custom tables.
 * Returns the params and the ArchSpec facts the format implies (TF SAME padding, BN eps), so the caller's
 * table stays the single description of the network.
 *
 * This module dispatches on the source and gets its bytes (paths, URLs and streams through src/io/read.ts); the
 * state-dict format is told once per file in formats.ts, the architecture inferred in infer.ts, and a TF.js model
 * read from its folder or URL in tfjs-read.ts.
 */
import { isNode } from '../env.js';
import { EffnetError } from '../errors.js';
import { isDirectory, readAll, readStream, type ReadPolicy } from '../io/read.js';
import type { ArchSpec } from '../model/tables.js';
import type { SafetensorsFile } from '../safetensors.js';
import { checkModelParams } from './check.js';
import { EFFNET_NAMING, effnetFileSpec, effnetInputAffine, isEffnetFile } from './effnet-format.js';
import { parseStateDictFile, stateDictCap, stateDictFormat } from './formats.js';
import { archOfFormat, inferArch } from './infer.js';
import type { ModelParams } from './params.js';
import { randomParams } from './random.js';
import { paramsFromTfjsGraph, tfjsSpecOverrides } from './tfjs.js';
import type { TfjsGraphModel } from './tfjs-manifest.js';
import { readTfjsModel } from './tfjs-read.js';
import { paramsFromStateDict } from './torchvision.js';
import { WEIGHTS_DECLARED_MAX_BYTES, WEIGHTS_MAX_BYTES, type ResolvedWeights, type WeightOptions, type WeightsSource } from './types.js';

/** `spec` undefined: only a state dict (safetensors or PyTorch checkpoint) can say which network it is (inferArch). */
export async function resolveWeights(spec: ArchSpec | undefined, src: WeightsSource, opts: WeightOptions = {}): Promise<ResolvedWeights> {
  const given = (what: string): ArchSpec => {
    if (spec) return spec;
    throw new EffnetError('MODEL_SPEC', `${what} need an arch; only a state dict (safetensors or PyTorch checkpoint) names its own`);
  };
  if (src === 'random') return { spec: given('random weights'), params: randomParams(given('random weights'), opts.seed ?? 1), format: 'random', source: 'random', preprocess: 'torchvision' };
  if (isParams(src)) {
    checkModelParams(src, given('ModelParams'));
    return { spec: given('ModelParams'), params: src, format: 'params', source: '<ModelParams>', preprocess: src.inputAffine ? 'tfjs' : 'torchvision' };
  }
  if (typeof src === 'object' && 'modelJson' in src) return fromTfjs(given('TF.js graph models'), src.modelJson as TfjsGraphModel, src.weightData, '<tfjs graph>');
  if (src instanceof ArrayBuffer || src instanceof Uint8Array) return fromStateDict(spec, parseStateDictFile(src, '<buffer>'), '<buffer>', opts);
  if (typeof src === 'object' && 'tensors' in src && 'get' in src) return fromStateDict(spec, src as SafetensorsFile, '<safetensors>', opts);
  const stream = streamOf(src);
  if (stream) {
    const bytes = await readStream(stream.body, stream.what, stateDictRead(stream.what, opts), stream.total);
    return fromStateDict(spec, parseStateDictFile(bytes, stream.what), stream.what, opts);
  }
  if (typeof src !== 'string' && !(src instanceof URL)) {
    throw new EffnetError('WEIGHTS', `weights must be a path, URL, bytes (ArrayBuffer, Uint8Array, Blob, Response, ReadableStream), a TF.js graph, ModelParams or 'random'; got ${describe(src)}`);
  }
  const where = await pathOrUrl(src);
  if (opts.format === 'tfjs' || /model\.json$/.test(where) || (isNode && (await isDirectory(where)))) {
    const { modelJson, weightData } = await readTfjsModel(where, opts);
    return fromTfjs(given('TF.js graph models'), modelJson, weightData, where);
  }
  const bytes = await readAll(where, stateDictRead(where, opts));
  return fromStateDict(spec, parseStateDictFile(bytes, where), where, opts);
}

/** The architecture of a state-dict file or URL (safetensors or PyTorch checkpoint), by inferArch. */
export async function inferWeightsArch(where: string, opts: WeightOptions = {}): Promise<ArchSpec> {
  return inferArch(parseStateDictFile(await readAll(where, stateDictRead(where, opts)), where), { ...opts, source: where });
}

/**
 * How a state dict is read: never past the size its safetensors header declares (known before the data is read),
 * nor, where nothing declares a size (a PyTorch checkpoint), `maxBytes`; reporting progress per chunk and
 * stopping at an abort or a silent URL or stream.
 */
function stateDictRead(where: string, opts: WeightOptions): ReadPolicy {
  const { onProgress, signal, timeoutMs, maxBytes } = opts;
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes > 0 && maxBytes <= WEIGHTS_DECLARED_MAX_BYTES)) {
    throw new EffnetError('INPUT', `maxBytes must be a whole number of bytes from 1 to ${WEIGHTS_DECLARED_MAX_BYTES}, got ${String(maxBytes)}`);
  }
  return {
    what: 'weights',
    maxBytes: maxBytes ?? WEIGHTS_MAX_BYTES,
    maxOption: 'maxBytes',
    declaredCap: stateDictCap(where),
    maxDeclaredBytes: maxBytes ?? WEIGHTS_DECLARED_MAX_BYTES,
    onProgress,
    signal,
    timeoutMs,
  };
}

/** A Blob, Response or ReadableStream as a byte stream with a name for errors and its size when known. */
function streamOf(src: unknown): { body: ReadableStream<Uint8Array>; what: string; total?: number } | undefined {
  if (typeof Blob !== 'undefined' && src instanceof Blob) {
    const name = typeof File !== 'undefined' && src instanceof File ? src.name : '<Blob>';
    return { body: src.stream(), what: name, total: src.size };
  }
  if (typeof Response !== 'undefined' && src instanceof Response) {
    const what = src.url || '<Response>';
    if (!src.ok) throw new EffnetError('IO', `cannot read weights from ${what}: HTTP ${src.status}`);
    if (src.bodyUsed || !src.body) throw new EffnetError('IO', `cannot read weights from ${what}: the response body was already read`);
    const declared = Number(src.headers.get('content-length') ?? NaN);
    return { body: src.body, what, ...(Number.isSafeInteger(declared) ? { total: declared } : {}) };
  }
  if (typeof ReadableStream !== 'undefined' && src instanceof ReadableStream) return { body: src as ReadableStream<Uint8Array>, what: '<ReadableStream>' };
  return undefined;
}

/** A path or URL as the string the readers take: a `file:` URL becomes its path (Node only). */
async function pathOrUrl(src: string | URL): Promise<string> {
  const href = String(src);
  if (!/^file:/i.test(href)) return href;
  if (!isNode) throw new EffnetError('IO', `cannot read weights from ${href}: a file: URL needs Node (in a browser, fetch the file or pass a Blob)`);
  const { fileURLToPath } = await import('node:url');
  try {
    return fileURLToPath(href);
  } catch (cause) {
    throw new EffnetError('IO', `cannot read weights from ${href}: ${(cause as Error).message}`, { cause });
  }
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x !== 'object') return typeof x;
  return (x as object).constructor?.name ?? 'an object';
}

/** `spec` undefined: the architecture is inferred from the file's keys and shapes, under the format told once here. */
function fromStateDict(spec: ArchSpec | undefined, file: SafetensorsFile, source: string, opts: WeightOptions): ResolvedWeights {
  if (isEffnetFile(file)) {
    const s = effnetFileSpec(file, source, spec);
    const params = paramsFromStateDict(file, s, EFFNET_NAMING, { source });
    const affine = effnetInputAffine(file, source);
    return { spec: s, params: affine ? { ...params, inputAffine: affine } : params, format: 'effnet', source, preprocess: file.metadata.preprocess === 'tfjs' ? 'tfjs' : 'torchvision' };
  }
  const f = stateDictFormat(file, source, opts);
  const s = { ...(spec ?? archOfFormat(file, f, opts, source)), ...f.overrides(opts) };
  return { spec: s, params: paramsFromStateDict(file, s, f.naming, { source }), format: f.format, source, preprocess: 'torchvision' };
}

function fromTfjs(spec: ArchSpec, modelJson: TfjsGraphModel, weightData: ArrayBuffer, source: string): ResolvedWeights {
  const s = { ...spec, ...tfjsSpecOverrides };
  return { spec: s, params: paramsFromTfjsGraph(modelJson, weightData, s, { source }), format: 'tfjs', source, preprocess: 'tfjs' };
}

function isParams(x: unknown): x is ModelParams {
  return typeof x === 'object' && x !== null && 'stem' in x && 'blocks' in x && 'classifier' in x;
}
