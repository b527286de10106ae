/**
 * The peers' model files, written from our own loaded weights (tflite-writer.ts, onnx-writer.ts) and cached
 * under `<cache>/peer-models/` (cache: $EFFNET_CACHE, else ~/.cache/effnet-webgpu). A file's name carries a
 * hash of everything it is made from — writer version, format, the architecture's stage table, resolution,
 * batch and every weight and bias — so a changed weight file or table never reuses a stale model, and the same
 * weights at another resolution or batch get their own file (both formats fix every shape).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EffnetError } from '../../src/errors.js';
import { layerOps } from '../../src/model/layers.js';
import { paramTensors } from '../../src/model/ops.js';
import type { ArchSpec } from '../../src/model/tables.js';
import { defaultCacheDir } from '../../src/io/cache.js';
import { paramValue, type ModelParams } from '../../src/weights/params.js';
import { peerGraph } from './graph.js';

export type PeerFormat = 'tflite' | 'onnx';

/** Bumped whenever a writer's output changes, so cached files of an older writer are not reused. */
const WRITER_VERSION = 1;

const weightHashes = new WeakMap<ModelParams, string>();

/** sha256 over every parameter tensor of `spec` in op order (and the input affine), memoised per params object. */
export function weightsHash(spec: ArchSpec, params: ModelParams): string {
  let h = weightHashes.get(params);
  if (h) return h;
  const hash = createHash('sha256');
  for (const t of paramTensors(layerOps(spec))) {
    const p = paramValue(params, t.op, t.part);
    if (!p) throw new EffnetError('WEIGHTS', `peer model: the parameters lack ${t.key}`);
    hash.update(t.key);
    hash.update(new Uint8Array(p.weight.buffer, p.weight.byteOffset, p.weight.byteLength));
    hash.update(new Uint8Array(p.bias.buffer, p.bias.byteOffset, p.bias.byteLength));
  }
  hash.update(JSON.stringify(params.inputAffine ?? null));
  h = hash.digest('hex');
  weightHashes.set(params, h);
  return h;
}

/** The cache key of one file: its name stem, which is also how tests find it. */
export function peerModelKey(format: PeerFormat, spec: ArchSpec, params: ModelParams, res: number, batch: number): string {
  const h = createHash('sha256')
    .update(JSON.stringify({ writer: WRITER_VERSION, format, spec, res, batch, weights: weightsHash(spec, params) }))
    .digest('hex')
    .slice(0, 16);
  const safe = spec.name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return `${safe}-${res}-b${batch}-${h}`;
}

export interface PeerModelOptions {
  /** Default: `<defaultCacheDir()>/peer-models`. */
  dir?: string;
  log?: (line: string) => void;
}

/** Path of the `format` file of (spec, params, res, batch), written when not cached yet. */
export async function ensurePeerModel(format: PeerFormat, spec: ArchSpec, params: ModelParams, res: number, batch: number, o: PeerModelOptions = {}): Promise<string> {
  const dir = o.dir ?? join(await defaultCacheDir(), 'peer-models');
  const target = join(dir, `${peerModelKey(format, spec, params, res, batch)}.${format}`);
  if (existsSync(target)) return target;
  const graph = peerGraph(spec, params, res, batch);
  const t0 = performance.now();
  const bytes = format === 'tflite' ? await (await import('./tflite-writer.js')).writeTflite(graph) : await (await import('./onnx-writer.js')).writeOnnx(graph);
  await mkdir(dir, { recursive: true });
  // Written beside the target and renamed into place: a reader never sees half a file, and two writers of the
  // same key write the same bytes.
  const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
  o.log?.(`bench: wrote ${target} (${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB in ${Math.round(performance.now() - t0)} ms)`);
  return target;
}
