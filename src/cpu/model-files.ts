/**
 * The CPU runtimes' model files (TFLite for LiteRT.js, ONNX for ONNX Runtime), written in memory from our own
 * loaded weights by tflite-writer.ts / onnx-writer.ts: any zoo arch, resolution and batch, no Python. In Node a
 * file is also cached under `<cache>/peer-models/` (cache: $EFFNET_CACHE, else ~/.cache/effnet-webgpu), so the
 * CPU backend and `effnet bench`'s peers write it once; a browser writes it again per page (B0: well under a
 * second). A file's name carries a hash of everything it is made from — writer version, format, the
 * architecture's stage table, resolution, batch, pass and every weight and bias — so a changed weight file or
 * table never reuses a stale model. Beside each file, `<file>.sha256` holds the sha256 of its bytes: a cached file
 * is used only when its bytes hash to it, so one changed on disk (a flipped bit, a truncated copy) is written again
 * rather than run with logits nobody checked.
 */
import { EffnetError } from '../errors.js';
import { isNode } from '../env.js';
import { layerOps } from '../model/layers.js';
import { paramTensors } from '../model/ops.js';
import type { ArchSpec } from '../model/tables.js';
import { defaultCacheDir, replaceFile } from '../io/cache.js';
import { paramValue, type ModelParams } from '../weights/params.js';
import { passGraph, peerGraph } from './graph.js';

export type PeerFormat = 'tflite' | 'onnx';

/** Bumped whenever a writer's output changes, so cached files of an older writer are not reused. */
const WRITER_VERSION = 1;

const weightHashes = new WeakMap<ModelParams, string>();

/** sha256 over every parameter tensor of `spec` in op order (and the input affine), memoised per params object. Node only. */
export async function weightsHash(spec: ArchSpec, params: ModelParams): Promise<string> {
  let h = weightHashes.get(params);
  if (h) return h;
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256');
  for (const t of paramTensors(layerOps(spec))) {
    const p = paramValue(params, t.op, t.part);
    if (!p) throw new EffnetError('WEIGHTS', `model file: the parameters lack ${t.key}`);
    hash.update(t.key);
    hash.update(new Uint8Array(p.weight.buffer, p.weight.byteOffset, p.weight.byteLength));
    hash.update(new Uint8Array(p.bias.buffer, p.bias.byteOffset, p.bias.byteLength));
  }
  hash.update(JSON.stringify(params.inputAffine ?? null));
  h = hash.digest('hex');
  weightHashes.set(params, h);
  return h;
}

/** What one file holds: the whole network, or one profiling pass of it (`stem`, `stage3`, `head`). */
export interface ModelFileShape {
  res: number;
  batch: number;
  pass?: string;
}

/** The cache key of one file: its name stem, which is also how tests find it. Node only. */
export async function peerModelKey(format: PeerFormat, spec: ArchSpec, params: ModelParams, res: number, batch: number, pass?: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256')
    .update(JSON.stringify({ writer: WRITER_VERSION, format, spec, res, batch, ...(pass ? { pass } : {}), weights: await weightsHash(spec, params) }))
    .digest('hex')
    .slice(0, 16);
  const safe = spec.name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return `${safe}-${res}-b${batch}${pass ? `-${pass}` : ''}-${h}`;
}

/** The `format` bytes of (spec, params) at `shape`, written in memory. */
export async function writeModelFile(format: PeerFormat, spec: ArchSpec, params: ModelParams, shape: ModelFileShape): Promise<Uint8Array> {
  const whole = peerGraph(spec, params, shape.res, shape.batch);
  const graph = shape.pass ? passGraph(whole, shape.pass) : whole;
  return format === 'tflite' ? (await import('./tflite-writer.js')).writeTflite(graph) : (await import('./onnx-writer.js')).writeOnnx(graph);
}

export interface PeerModelOptions {
  /** Default: `<defaultCacheDir()>/peer-models`. */
  dir?: string;
  log?: (line: string) => void;
}

/** Path of the `format` file of (spec, params, res, batch), written when not cached yet. Node only. */
export async function ensurePeerModel(format: PeerFormat, spec: ArchSpec, params: ModelParams, res: number, batch: number, o: PeerModelOptions & { pass?: string } = {}): Promise<string> {
  return (await cachedModelFile(format, spec, params, { res, batch, ...(o.pass ? { pass: o.pass } : {}) }, o)).path;
}

/**
 * The cached file and its bytes: read when its sha256 sidecar matches them, else (no file, no sidecar, another
 * hash) written again, the file first and then its sidecar, each beside its target and renamed into place: a
 * reader never sees half a file, one between the two renames finds no matching sidecar and writes the same
 * bytes again, and two writers of the same key write the same bytes. Node only.
 */
async function cachedModelFile(format: PeerFormat, spec: ArchSpec, params: ModelParams, shape: ModelFileShape, o: PeerModelOptions): Promise<{ path: string; bytes: Uint8Array }> {
  const { createHash } = await import('node:crypto');
  const { mkdir, readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const dir = o.dir ?? join(await defaultCacheDir(), 'peer-models');
  const target = join(dir, `${await peerModelKey(format, spec, params, shape.res, shape.batch, shape.pass)}.${format}`);
  const sidecar = `${target}.sha256`;
  const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  const cached = await readFile(target).catch(() => undefined);
  if (cached) {
    const expected = await readFile(sidecar, 'utf8').catch(() => undefined);
    if (expected?.trim() === sha256(cached)) return { path: target, bytes: new Uint8Array(cached.buffer, cached.byteOffset, cached.byteLength) };
    o.log?.(`${target}: ${expected === undefined ? 'no sha256 beside it' : 'its bytes do not match its sha256'}, writing it again`);
  }
  const t0 = performance.now();
  const bytes = await writeModelFile(format, spec, params, shape);
  await mkdir(dir, { recursive: true });
  await replaceFile(target, bytes);
  await replaceFile(sidecar, `${sha256(bytes)}\n`);
  o.log?.(`wrote ${target} (${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB in ${Math.round(performance.now() - t0)} ms)`);
  return { path: target, bytes };
}

/**
 * The file's bytes: from Node's cache (written there first when missing or not matching its sha256; a cache that
 * cannot be written is not an error, the bytes are then written in memory only), or in a browser written in memory.
 */
export async function modelFileBytes(format: PeerFormat, spec: ArchSpec, params: ModelParams, shape: ModelFileShape): Promise<Uint8Array> {
  if (!isNode) return writeModelFile(format, spec, params, shape);
  try {
    return (await cachedModelFile(format, spec, params, shape, {})).bytes;
  } catch (e) {
    if (e instanceof EffnetError) throw e;
    return writeModelFile(format, spec, params, shape);
  }
}
