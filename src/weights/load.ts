/**
 * One entry for every weight source: a safetensors file or a PyTorch checkpoint (torchvision, timm,
 * EfficientNet-PyTorch or standalone-EfficientNetV2 names, told apart by their keys), a TensorFlow.js graph
 * model (directory, model.json URL, or in memory), canonical ModelParams, or 'random' for custom tables.
 * Returns the params and the ArchSpec facts the format implies (TF SAME padding, BN eps), so the caller's
 * table stays the single description of the network; `inferArch` reads the table off a state dict.
 */
import { isNode } from '../env.js';
import { throwIfAborted as abortCheck } from '../abort.js';
import { EffnetError } from '../errors.js';
import { layerOps } from '../model/layers.js';
import { paramTensors } from '../model/ops.js';
import { getArch, scaledArch, zooVariants, type ArchSpec } from '../model/tables.js';
import { parseSafetensors, type SafetensorsFile } from '../safetensors.js';
import { looksLikePytorchCheckpoint, parsePytorchCheckpoint } from './pytorch.js';
import type { ModelParams } from './params.js';
import { DLI14_NAMING, EFFICIENTNET_PYTORCH_NAMING, EFFICIENTNET_PYTORCH_OVERRIDES } from './thirdparty.js';
import { expectedStateDict, paramsFromStateDict, TORCHVISION_NAMING, type StateDictNaming } from './torchvision.js';
import { TIMM_NAMING, timmSpecOverrides } from './timm.js';
import { checkTfjsModelJson, paramsFromTfjsGraph, tfjsShardPaths, tfjsSpecOverrides, tfjsWeightBytes, type TfjsGraphModel } from './tfjs.js';
import { randomParams } from './random.js';
import { checkModelParams } from './check.js';
import { EFFNET_NAMING, effnetFileSpec, effnetInputAffine, isEffnetFile } from './effnet-format.js';

export type WeightFormat = 'torchvision' | 'timm' | 'efficientnet_pytorch' | 'effnetv2_dli14' | 'tfjs';

/**
 * Where weights come from. A path (Node), a `file:` URL (Node) or an http(s) URL (read as a stream, capped by the
 * size the format declares) may name a safetensors file, a PyTorch checkpoint or a TF.js model (directory or
 * model.json); bytes in memory (`ArrayBuffer`, `Uint8Array`, `Blob`, a fetch `Response`, a `ReadableStream` of
 * bytes) hold a state dict. TF.js graphs in memory, canonical `ModelParams` and 'random' need no reading.
 */
export type WeightsSource =
  | 'random'
  | string
  | URL
  | ArrayBuffer
  | Uint8Array
  | Blob
  | Response
  | ReadableStream<Uint8Array>
  | SafetensorsFile
  | { modelJson: object; weightData: ArrayBuffer }
  | ModelParams;

/** Bytes read so far, and the total when it is known (a file's size, a Content-Length, a manifest, a Blob). */
export interface LoadProgress {
  loaded: number;
  total?: number;
}

export interface WeightOptions {
  /** Force a format instead of detecting it. */
  format?: WeightFormat;
  /** timm model name (e.g. 'tf_efficientnet_b0'): picks padding and BN eps for timm files. */
  timmModel?: string;
  /** Seed for 'random'. */
  seed?: number;
  /** Called as weight bytes arrive (after each chunk read), and once more when reading is done. */
  onProgress?: (p: LoadProgress) => void;
  /** Aborts the read (and the load): the call rejects with an `ABORTED` EffnetError. */
  signal?: AbortSignal;
}

export type WeightsPreprocess = 'tfjs' | 'torchvision';

export interface ResolvedWeights {
  spec: ArchSpec;
  params: ModelParams;
  /** 'effnet': the engine's own file (`effnet export-weights`, src/weights/effnet-format.ts). */
  format: WeightFormat | 'effnet' | 'random' | 'params';
  /**
   * The input the weights were trained on: 'tfjs' for graphs that normalise internally and take [0, 1] RGB
   * (TF-Hub's, as TF.js serves them), 'torchvision' (ImageNet mean/std) for state dicts.
   */
  preprocess: WeightsPreprocess;
  source: string;
}

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
  if (src instanceof ArrayBuffer || src instanceof Uint8Array) return fromSafetensors(spec, parseStateDictFile(src, '<buffer>'), '<buffer>', opts);
  if (typeof src === 'object' && 'tensors' in src && 'get' in src) return fromSafetensors(spec, src as SafetensorsFile, '<safetensors>', opts);
  const stream = streamOf(src);
  if (stream) {
    const bytes = await readStream(stream.body, stream.what, stateDictCap(stream.what), stream.total, opts);
    return fromSafetensors(spec, parseStateDictFile(bytes, stream.what), stream.what, opts);
  }
  if (typeof src !== 'string' && !(src instanceof URL)) {
    throw new EffnetError('WEIGHTS', `weights must be a path, URL, bytes (ArrayBuffer, Uint8Array, Blob, Response, ReadableStream), a TF.js graph, ModelParams or 'random'; got ${describe(src)}`);
  }
  const where = await pathOrUrl(src);
  if (opts.format === 'tfjs' || /model\.json$/.test(where) || (isNode && (await isDirectory(where)))) {
    const { modelJson, weightData } = await readTfjsModel(where, opts);
    return fromTfjs(given('TF.js graph models'), modelJson, weightData, where);
  }
  const bytes = await readBytes(where, stateDictCap(where), opts);
  return fromSafetensors(spec, parseStateDictFile(bytes, where), where, opts);
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

/**
 * A state dict's bytes: a PyTorch checkpoint when `torch.save` wrote them (zip or legacy signature) or the name
 * says so (.pth, .pt, .bin), else safetensors. Either way the result reads the same to every naming.
 */
function parseStateDictFile(src: ArrayBuffer | Uint8Array, source: string): SafetensorsFile {
  const bytes = src instanceof Uint8Array ? src : new Uint8Array(src);
  return looksLikePytorchCheckpoint(bytes) || /\.(pth|pt|bin)$/i.test(source.replace(/[?#].*$/, ''))
    ? parsePytorchCheckpoint(bytes, { source })
    : parseSafetensors(bytes, { source });
}

/**
 * The state-dict formats, told apart by keys only each one has (first match wins: the standalone V2
 * definition's `features.0.0` stem is torchvision's too), with what each implies for the architecture and
 * which zoo families its checkpoints come from (what `inferArch` tries).
 */
interface StateDictFormat {
  format: StateDictFormatName;
  /** Keys that together mark the format. */
  markers: string[];
  naming: StateDictNaming;
  /** The ArchSpec facts the format implies, spread over the zoo or given spec. */
  overrides(opts: WeightOptions): Partial<ArchSpec>;
  /** Zoo families (tables.ts `zooVariants`) its checkpoints are variants of. */
  zoos: string[];
  /** Its model code takes any width multiplier (`width_mult`), so inferArch reads the width off the shapes. */
  freeWidth: boolean;
}

type StateDictFormatName = Exclude<WeightFormat, 'tfjs'>;

const STATE_DICT_FORMATS: readonly StateDictFormat[] = [
  { format: 'timm', markers: ['conv_stem.weight'], naming: TIMM_NAMING, overrides: (o) => timmSpecOverrides(o.timmModel ?? ''), zoos: ['efficientnet', 'efficientnet_v2'], freeWidth: false },
  { format: 'efficientnet_pytorch', markers: ['_conv_stem.weight'], naming: EFFICIENTNET_PYTORCH_NAMING, overrides: () => EFFICIENTNET_PYTORCH_OVERRIDES, zoos: ['efficientnet'], freeWidth: false },
  { format: 'effnetv2_dli14', markers: ['features.0.0.weight', 'conv.0.weight', 'classifier.weight'], naming: DLI14_NAMING, overrides: () => ({}), zoos: ['effnetv2_dli14'], freeWidth: true },
  { format: 'torchvision', markers: ['features.0.0.weight'], naming: TORCHVISION_NAMING, overrides: () => ({}), zoos: ['efficientnet', 'efficientnet_v2'], freeWidth: false },
];

const detectFormat = (file: SafetensorsFile): StateDictFormat | undefined => STATE_DICT_FORMATS.find((f) => f.markers.every((k) => file.has(k)));

function stateDictFormat(file: SafetensorsFile, source: string, opts: WeightOptions): StateDictFormat {
  const format = opts.format === undefined ? detectFormat(file) : STATE_DICT_FORMATS.find((f) => f.format === opts.format);
  if (format) return format;
  const known = STATE_DICT_FORMATS.map((f) => `${f.format} (${f.markers.join(' + ')})`).reverse();
  const formats = `${known.slice(0, -1).join(', ')} or ${known.at(-1)}`;
  throw new EffnetError('WEIGHTS', `${source}: not a ${formats} EfficientNet state_dict; first tensors: ${file.names().slice(0, 5).join(', ')}`);
}

/** `spec` undefined: the architecture is inferred from the file's keys and shapes (inferArch). */
function fromSafetensors(spec: ArchSpec | undefined, file: SafetensorsFile, source: string, opts: WeightOptions): ResolvedWeights {
  if (isEffnetFile(file)) {
    const s = effnetFileSpec(file, source, spec);
    const params = paramsFromStateDict(file, s, EFFNET_NAMING, { source });
    const affine = effnetInputAffine(file, source);
    return { spec: s, params: affine ? { ...params, inputAffine: affine } : params, format: 'effnet', source, preprocess: file.metadata.preprocess === 'tfjs' ? 'tfjs' : 'torchvision' };
  }
  const f = stateDictFormat(file, source, opts);
  const s = { ...(spec ?? inferArch(file, { ...opts, source })), ...f.overrides(opts) };
  return { spec: s, params: paramsFromStateDict(file, s, f.naming, { source }), format: f.format, source, preprocess: 'torchvision' };
}

/** Every expected tensor present with its shape, and nothing else the format does not ignore. */
function holdsExactly(file: SafetensorsFile, spec: ArchSpec, naming: StateDictNaming): boolean {
  const expected = expectedStateDict(spec, naming);
  const names = new Set(expected.map((e) => e.name));
  const shapesMatch = expected.every((e) => {
    if (!file.has(e.name)) return false;
    const shape = file.get(e.name).shape;
    return shape.length === e.shape.length && shape.every((d, i) => d === e.shape[i]);
  });
  return shapesMatch && file.names().every((n) => names.has(n) || naming.ignore(n));
}

/**
 * Width multipliers to try for a free-width format: the ratio of the last stage's width in the file (the head
 * conv's input channels) to the table's, rounded to quarters, tenths, twentieths and hundredths first so a
 * matching width gets its round name, then exact.
 */
function widthCandidates(file: SafetensorsFile, base: ArchSpec, naming: StateDictNaming): number[] {
  const head = paramTensors(layerOps(base)).find((t) => t.op.slot === 'head')!;
  const named = naming.names(head, []);
  const key = typeof named === 'string' ? `${named}.weight` : named.weight;
  if (!file.has(key)) return [];
  const ratio = file.get(key).shape[1]! / base.stages[base.stages.length - 1]!.outC;
  return [...new Set([4, 10, 20, 100].map((d) => Math.round(ratio * d) / d).concat(ratio))].filter((w) => w > 0);
}

/**
 * The architecture a state dict holds: its format from the keys, then every zoo variant of that format's
 * families (and, for model code with a width multiplier, the widths its shapes suggest) until one whose
 * expected tensors the file holds exactly. Padding and BN eps are the format's. Throws a WEIGHTS EffnetError
 * listing what was tried when nothing matches.
 */
export function inferArch(file: SafetensorsFile, opts: WeightOptions & { source?: string } = {}): ArchSpec {
  const source = opts.source ?? '<state dict>';
  if (isEffnetFile(file)) return effnetFileSpec(file, source);
  const f = stateDictFormat(file, source, opts);
  const tried: string[] = [];
  for (const variant of f.zoos.flatMap(zooVariants)) {
    const base = getArch(variant);
    const widths = f.freeWidth ? widthCandidates(file, base, f.naming) : [];
    for (const spec of [base, ...widths.map((width) => scaledArch(variant, { width }))]) {
      if (tried.includes(spec.name)) continue;
      tried.push(spec.name);
      const s = { ...spec, ...f.overrides(opts) };
      if (holdsExactly(file, s, f.naming)) return s;
    }
  }
  throw new EffnetError('WEIGHTS', `${source}: no architecture matches this ${f.format} state_dict (${file.names().length} tensors); tried: ${tried.join(', ')}`);
}

/** The architecture of a state-dict file or URL (safetensors or PyTorch checkpoint), by inferArch. */
export async function inferWeightsArch(where: string, opts: WeightOptions = {}): Promise<ArchSpec> {
  return inferArch(parseStateDictFile(await readBytes(where, stateDictCap(where), opts), where), { ...opts, source: where });
}

function fromTfjs(spec: ArchSpec, modelJson: TfjsGraphModel, weightData: ArrayBuffer, source: string): ResolvedWeights {
  const s = { ...spec, ...tfjsSpecOverrides };
  return { spec: s, params: paramsFromTfjsGraph(modelJson, weightData, s, { source }), format: 'tfjs', source, preprocess: 'tfjs' };
}

function isParams(x: unknown): x is ModelParams {
  return typeof x === 'object' && x !== null && 'stem' in x && 'blocks' in x && 'classifier' in x;
}

async function isDirectory(path: string): Promise<boolean> {
  const { stat } = await import('node:fs/promises');
  return stat(path).then((s) => s.isDirectory(), () => false);
}

/** The most bytes a read may take, from the format, and what said so (for the error). */
interface ReadCap {
  bytes: number;
  why: string;
}

/** A cap read off the file's first bytes: the cap, how many bytes it needs to tell, or undefined for none. */
type HeadCap = (head: Uint8Array) => ReadCap | { need: number } | undefined;

/** safetensors: 8-byte header length N, N bytes of JSON, then data up to the largest data_offsets end. */
const SAFETENSORS_MAX_HEADER = 100 * 1024 * 1024;

/**
 * The size a safetensors file declares, from its first bytes: a number once the header is in `head`, `need`
 * when more bytes are needed to tell, undefined when `head` is not a parsable safetensors header (the parser
 * then names the problem).
 */
function safetensorsExtent(head: Uint8Array): number | { need: number } | undefined {
  if (head.length < 8) return { need: 8 };
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(SAFETENSORS_MAX_HEADER)) return undefined;
  const end = 8 + Number(n);
  if (head.length < end) return { need: end };
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(head.subarray(8, end)));
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null) return undefined;
  let data = 0;
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const off = (t as { data_offsets?: unknown } | null)?.data_offsets;
    if (!Array.isArray(off) || typeof off[1] !== 'number') return undefined;
    data = Math.max(data, off[1]);
  }
  return end + data;
}

/** A state dict (not named or signed as a PyTorch checkpoint) is capped by the size its safetensors header declares. */
function stateDictCap(where: string): HeadCap {
  if (/\.(pth|pt|bin)$/i.test(where.replace(/[?#].*$/, ''))) return () => undefined;
  return (head) => {
    if (head.length >= 4 && looksLikePytorchCheckpoint(head)) return undefined;
    const e = safetensorsExtent(head);
    return typeof e === 'number' ? { bytes: e, why: 'its safetensors header describes' } : e;
  };
}

/** What a read reports to and is cancelled by. */
type ReadIo = Pick<WeightOptions, 'onProgress' | 'signal'>;

/** Reads go in chunks of this size, so progress is reported and an abort is noticed at least this often. */
const CHUNK = 4 << 20;

const throwIfAborted = (io: ReadIo | undefined, where: string): void => abortCheck(io?.signal, `reading weights from ${where}`);

/**
 * A weights file's bytes. Only a regular file is read (a FIFO, device or directory is an IO error at once),
 * and never more than `cap` says: the size the manifest or the file's own header declares, known before the
 * data is read. A URL's body is streamed the same way, stopping at the cap. Both report progress per chunk and
 * stop at an abort.
 */
async function readBytes(where: string, cap?: ReadCap | HeadCap, io?: ReadIo): Promise<Uint8Array> {
  const tooLong = (size: number, c: ReadCap) => new EffnetError('IO', `cannot read weights from ${where}: it is ${size} bytes but ${c.why} ${c.bytes} bytes`);
  const fixed = typeof cap === 'function' ? undefined : cap;
  try {
    throwIfAborted(io, where);
    if (isNode && !/^https?:/.test(where)) {
      const { open } = await import('node:fs/promises');
      // O_NONBLOCK: opening a FIFO must not wait for a writer; the handle is then checked to be a regular file.
      const { constants } = await import('node:fs');
      const fh = await open(where, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
      try {
        const st = await fh.stat();
        if (st.isDirectory()) throw new Error('is a directory');
        if (!st.isFile()) throw new Error('not a regular file (a device, FIFO or socket)');
        const read = async (n: number, progress = false) => {
          const b = new Uint8Array(n);
          let got = 0;
          while (got < n) {
            throwIfAborted(io, where);
            const { bytesRead } = await fh.read(b, got, Math.min(CHUNK, n - got), got);
            if (bytesRead === 0) break;
            got += bytesRead;
            if (progress) io?.onProgress?.({ loaded: got, total: n });
          }
          return b.subarray(0, got);
        };
        let limit = fixed;
        if (typeof cap === 'function') {
          // Read the format's header (as much as it asks for, within the file) to learn the size it declares.
          let c = cap(await read(Math.min(st.size, 8)));
          while (c && 'need' in c && c.need <= st.size) c = cap(await read(c.need));
          if (c && !('need' in c)) limit = c;
        }
        if (limit && st.size > limit.bytes) throw tooLong(st.size, limit);
        return await read(st.size, true);
      } finally {
        await fh.close();
      }
    }
    const r = await fetch(where, io?.signal ? { signal: io.signal } : {});
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const declared = Number(r.headers.get('content-length') ?? NaN);
    if (fixed && declared > fixed.bytes) throw tooLong(declared, fixed);
    if (!r.body) return new Uint8Array(await r.arrayBuffer());
    return await readStream(r.body, where, cap, Number.isSafeInteger(declared) ? declared : undefined, io);
  } catch (cause) {
    if (cause instanceof EffnetError) throw cause;
    if (io?.signal?.aborted) throw new EffnetError('ABORTED', `reading weights from ${where} was aborted`, { cause });
    throw new EffnetError('IO', `cannot read weights from ${where}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * A byte stream read chunk by chunk, cancelled as soon as it passes the cap (or the signal aborts). `total`, when
 * known, pre-sizes the buffer only up to 64 MiB (and the cap): beyond that it grows with what actually arrives,
 * so a hostile Content-Length cannot make it allocate.
 */
async function readStream(body: ReadableStream<Uint8Array>, where: string, cap: ReadCap | HeadCap | undefined, total: number | undefined, io?: ReadIo): Promise<Uint8Array> {
  let limit = typeof cap === 'function' ? undefined : cap;
  if (limit && total !== undefined && total > limit.bytes) {
    throw new EffnetError('IO', `cannot read weights from ${where}: it is ${total} bytes but ${limit.why} ${limit.bytes} bytes`);
  }
  const reader = body.getReader();
  const abort = () => void reader.cancel().catch(() => undefined);
  io?.signal?.addEventListener('abort', abort, { once: true });
  let buf = new Uint8Array(total !== undefined && total > 0 ? Math.min(total, 64 << 20) : 1 << 16);
  let len = 0;
  try {
    for (;;) {
      throwIfAborted(io, where);
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (cause) {
        throwIfAborted(io, where);
        throw new EffnetError('IO', `cannot read weights from ${where}: ${(cause as Error).message}`, { cause });
      }
      throwIfAborted(io, where);
      if (chunk.done) break;
      const value = chunk.value;
      if (len + value.length > buf.length) {
        const grown = new Uint8Array(Math.max(buf.length * 2, len + value.length));
        grown.set(buf.subarray(0, len));
        buf = grown;
      }
      buf.set(value, len);
      len += value.length;
      if (typeof cap === 'function' && !limit) {
        const c = cap(buf.subarray(0, len));
        if (c && !('need' in c)) limit = c;
      }
      if (limit && len > limit.bytes) {
        abort();
        throw new EffnetError('IO', `cannot read weights from ${where}: the data is longer than the ${limit.bytes} bytes ${limit.why} (stopped reading)`);
      }
      io?.onProgress?.({ loaded: len, ...(total !== undefined ? { total } : {}) });
    }
  } finally {
    io?.signal?.removeEventListener('abort', abort);
  }
  return buf.subarray(0, len);
}

/** model.json, parsed and checked field by field (a malformed one is a WEIGHTS error naming the field). */
export async function readTfjsModelJson(jsonPath: string, io?: ReadIo): Promise<TfjsGraphModel> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(await readBytes(jsonPath, { bytes: TFJS_MAX_MODEL_JSON, why: 'a model.json may be at most' }, io && { signal: io.signal })));
  } catch (cause) {
    if (cause instanceof EffnetError) throw cause;
    throw new EffnetError('WEIGHTS', `${jsonPath}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  return checkTfjsModelJson(parsed, jsonPath);
}

/** The graph of the largest EfficientNet is a few MB of JSON; anything far beyond is not a model.json. */
const TFJS_MAX_MODEL_JSON = 256 * 1024 * 1024;

/**
 * A TF.js graph model from a directory, a model.json path or URL: model.json plus its shards, concatenated
 * in manifest order (how TF.js itself assembles them). Shards are read one at a time, each capped by what the
 * manifest still describes, and only from inside the model's folder (or below its URL).
 */
export async function readTfjsModel(where: string, io?: ReadIo): Promise<{ modelJson: TfjsGraphModel; weightData: ArrayBuffer }> {
  const jsonPath = /model\.json$/.test(where) ? where : `${where.replace(/\/$/, '')}/model.json`;
  const base = jsonPath.slice(0, jsonPath.lastIndexOf('/') + 1);
  const modelJson = await readTfjsModelJson(jsonPath, io);
  const paths = tfjsShardPaths(modelJson, jsonPath);
  if (paths.length === 0) throw new EffnetError('WEIGHTS', `${jsonPath}: no weightsManifest paths (not a TensorFlow.js graph model)`);
  const total = tfjsWeightBytes(modelJson);
  const shards: Uint8Array[] = [];
  let off = 0;
  for (const p of paths) {
    const cap = total === undefined ? undefined : { bytes: total - off, why: `the manifest describes ${total} bytes of weights in all, of which the shards from here on may hold` };
    // Progress counts the whole model: the shards read so far plus this one's bytes, of the manifest's total.
    const done = off;
    const shardIo = io && { signal: io.signal, onProgress: (q: LoadProgress) => io.onProgress?.({ loaded: done + q.loaded, ...(total !== undefined ? { total } : {}) }) };
    const shard = await readBytes(await shardLocation(base, p, jsonPath), cap, shardIo);
    shards.push(shard);
    off += shard.byteLength;
  }
  // Sized by what was read, never by what the manifest claims (a lying manifest is decodeTfjsWeights' error).
  const all = new Uint8Array(off);
  off = 0;
  for (const s of shards) {
    all.set(s, off);
    off += s.byteLength;
  }
  return { modelJson, weightData: all.buffer };
}

/** `p` resolved against the model's folder or URL; one that resolves outside it is refused, naming the path. */
async function shardLocation(base: string, p: string, jsonPath: string): Promise<string> {
  const outside = () => new EffnetError('WEIGHTS', `${jsonPath}: weightsManifest path '${p}' resolves outside the model's folder ${base}`);
  if (!isNode || /^https?:/.test(base)) {
    // In a browser a relative model URL is relative to the page.
    const root = new URL(base, typeof location === 'undefined' ? undefined : location.href).href;
    const url = new URL(p, root).href;
    if (!url.startsWith(root)) throw outside();
    return url;
  }
  const { resolve, sep } = await import('node:path');
  const dir = resolve(base);
  const file = resolve(dir, p);
  if (!file.startsWith(dir + sep)) throw outside();
  return file;
}
