/**
 * A TF.js graph model read from a directory, a model.json path or URL: model.json, checked, then its shards,
 * every byte through the engine's one reader (src/io/read.ts) under the caps the manifest sets.
 */
import { EffnetError } from '../errors.js';
import { isNode } from '../env.js';
import { readAll } from '../io/read.js';
import { tfjsWeightBytes } from './tfjs-decode.js';
import { checkTfjsModelJson, tfjsShardPaths, type TfjsGraphModel } from './tfjs-manifest.js';
import { WEIGHTS_MAX_BYTES, type LoadProgress, type WeightOptions } from './types.js';

/** What a read reports to, is cancelled by, how long it waits for a silent URL, and the most it reads. */
export type TfjsReadOptions = Pick<WeightOptions, 'onProgress' | 'signal' | 'timeoutMs' | 'maxBytes'>;

/** The graph of the largest EfficientNet is a few MB of JSON; anything far beyond is not a model.json. */
const TFJS_MAX_MODEL_JSON = 256 * 1024 * 1024;

/** model.json, parsed and checked field by field (a malformed one is a WEIGHTS error naming the field). */
export async function readTfjsModelJson(jsonPath: string, io: TfjsReadOptions = {}): Promise<TfjsGraphModel> {
  const bytes = await readAll(jsonPath, { what: 'weights', maxBytes: TFJS_MAX_MODEL_JSON, maxWhy: 'a model.json may be at most', signal: io.signal, timeoutMs: io.timeoutMs });
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new EffnetError('WEIGHTS', `${jsonPath}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  return checkTfjsModelJson(parsed, jsonPath);
}

/**
 * model.json plus its shards, concatenated in manifest order (how TF.js itself assembles them). Shards are read
 * one at a time, each capped by what the manifest still describes, and only from inside the model's folder (or
 * below its URL).
 */
export async function readTfjsModel(where: string, io: TfjsReadOptions = {}): Promise<{ modelJson: TfjsGraphModel; weightData: ArrayBuffer }> {
  const jsonPath = /model\.json$/.test(where) ? where : `${where.replace(/\/$/, '')}/model.json`;
  const base = jsonPath.slice(0, jsonPath.lastIndexOf('/') + 1);
  const modelJson = await readTfjsModelJson(jsonPath, io);
  const paths = tfjsShardPaths(modelJson, jsonPath);
  if (paths.length === 0) throw new EffnetError('WEIGHTS', `${jsonPath}: no weightsManifest paths (not a TensorFlow.js graph model)`);
  const total = tfjsWeightBytes(modelJson);
  const shards: Uint8Array[] = [];
  let off = 0;
  for (const p of paths) {
    // Manifests with string weights (variable length) describe no total: then only the weights ceiling applies.
    const cap = total === undefined ? { maxBytes: (io.maxBytes ?? WEIGHTS_MAX_BYTES) - off, maxOption: 'maxBytes' } : { maxBytes: total - off, maxWhy: `the manifest describes ${total} bytes of weights in all, of which the shards from here on may hold` };
    // Progress counts the whole model: the shards read so far plus this one's bytes, of the manifest's total.
    const done = off;
    const onProgress = (q: LoadProgress) => io.onProgress?.({ loaded: done + q.loaded, ...(total !== undefined ? { total } : {}) });
    const at = await shardLocation(base, p, jsonPath);
    const shard = await readAll(at.location, { what: 'weights', ...cap, signal: io.signal, timeoutMs: io.timeoutMs, onProgress, within: at.within });
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

/**
 * `p` resolved against the model's folder or URL; one that resolves outside it is refused, naming the path. A URL
 * must also stay inside once its redirects resolve (`within`, checked by the reader where they land).
 */
async function shardLocation(base: string, p: string, jsonPath: string): Promise<{ location: string; within?: string }> {
  const outside = () => new EffnetError('WEIGHTS', `${jsonPath}: weightsManifest path '${p}' resolves outside the model's folder ${base}`);
  if (!isNode || /^https?:/.test(base)) {
    // In a browser a relative model URL is relative to the page.
    const root = new URL(base, typeof location === 'undefined' ? undefined : location.href).href;
    const url = new URL(p, root).href;
    if (!url.startsWith(root)) throw outside();
    return { location: url, within: root };
  }
  const { resolve, sep } = await import('node:path');
  const dir = resolve(base);
  const file = resolve(dir, p);
  if (!file.startsWith(dir + sep)) throw outside();
  return { location: file };
}
