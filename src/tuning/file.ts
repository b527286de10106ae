/**
 * Tuning files: what `effnet tune` measured, per adapter — for each tuned launch (by tuning key,
 * src/kernels/tuning.ts) the tile it chose. One file holds any number of adapters, so a team can keep one
 * file for all its machines; a model takes the entries of the adapter it runs on and ignores the rest.
 *
 *   { "format": "effnet-tuning/1",
 *     "adapters": { "<host>|<vendor>|<architecture>|<device>|<description>":
 *       { "adapter": {...}, "updated": "<ISO date>", "choices": [{ "kernel", "key", "tile", "ms", "plannedMs", "layers", "tried" }] } } }
 *
 * In Node the engine keeps one such file as a cache ($EFFNET_TUNING_DIR, else <engine cache>/tuning/):
 * `effnet tune` adds to it, and `loadModel` reads it unless told otherwise. The cache is data the engine wrote,
 * so it also carries `"engine"` (a digest of the kernels it was measured with) and `"checksum"` (SHA-256 of its
 * `adapters`): a cache from another build of the kernels, or one edited or written by anything else, is ignored
 * with a warning, never applied.
 */
import { EffnetError } from '../errors.js';
import { isNode } from '../env.js';
import type { AdapterReport } from '../gpu.js';
import { readAll, type ReadPolicy } from '../io/read.js';
import type { Overrides } from '../kernels/library.js';
import { tileProblem, tileSpace, preview } from '../kernels/tile-space.js';
import { parseTuningKey, type TuningChoices } from '../kernels/tuning.js';
import { KERNELS, kernelSource } from '../kernels/registry.js';
import type * as web from '../platform-types.js';

export const TUNING_FORMAT = 'effnet-tuning/1';

/**
 * The largest tuning file read: one choice is ~250 bytes, and every launch of every zoo architecture on a few
 * dozen adapters is well under 1 MiB.
 */
export const TUNING_MAX_BYTES = 4 << 20;

export interface TuningChoice {
  kernel: string;
  /** The launch's tuning key: kernel, uniforms and non-tile overrides. */
  key: string;
  /** The tile overrides chosen: every tile key of the kernel (src/kernels/tile-space.ts). */
  tile: Overrides;
  /** GPU time of one launch with the chosen tile, and with the planner's. */
  ms: number;
  plannedMs: number;
  /** Layers of the tuned model that run this launch. */
  layers: number;
  /** Candidate tiles timed. */
  tried: number;
}

export interface AdapterTuning {
  adapter: Pick<AdapterReport, 'host' | 'vendor' | 'architecture' | 'device' | 'description' | 'isFallback'>;
  updated: string;
  choices: TuningChoice[];
}

export interface TuningFile {
  format: typeof TUNING_FORMAT;
  adapters: Record<string, AdapterTuning>;
}

/**
 * Where tuning comes from: a tuning file (object, path or URL), 'cache' (Node's tuning cache, the default
 * there) or 'none' (the planners' own tiles; the browser default).
 */
export type TuningSource = TuningFile | string | web.URL | 'cache' | 'none';

/** The adapter identity tuning results are kept under: the same GPU and driver stack under the same host. */
export const adapterKey = (r: AdapterReport): string => [r.host, r.vendor, r.architecture, r.device, r.description].join('|');

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * A parsed tuning file checked down to every tile: the file's shape, then each choice — a tunable kernel, a key
 * that reads back as a launch of that kernel (its uniform fields, its non-tile overrides), and a tile its WGSL
 * allows for that launch (every tile key, each in range, every `Requires:` line met). `problem` gets one line
 * per bad choice naming it; it may throw (a file given explicitly is refused at its first problem) or collect
 * (the cache drops what is bad and keeps the rest). A file whose shape is wrong throws whatever `problem` does.
 */
function checkTuning(x: unknown, source: string, problem: (msg: string) => void): TuningFile {
  const fail = (what: string): never => {
    throw new EffnetError('TUNING', `${source}: not an effnet tuning file: ${what}`);
  };
  if (!isRecord(x)) fail('expected a JSON object');
  const f = x as Record<string, unknown>;
  if (f.format !== TUNING_FORMAT) fail(`format must be '${TUNING_FORMAT}', got ${preview(f.format)}`);
  if (!isRecord(f.adapters)) fail("'adapters' must be an object");
  const adapters: Record<string, AdapterTuning> = {};
  for (const [akey, a] of Object.entries(f.adapters as Record<string, unknown>)) {
    const where = `adapters[${preview(akey)}]`;
    if (!isRecord(a) || !Array.isArray(a.choices)) return fail(`${where}.choices must be an array`);
    const seen = new Set<string>();
    const choices: TuningChoice[] = [];
    (a.choices as unknown[]).forEach((c, i) => {
      const at = `${source}: ${where}.choices[${i}]`;
      if (!isRecord(c) || typeof c.kernel !== 'string' || typeof c.key !== 'string') return problem(`${at} needs string 'kernel' and 'key'`);
      const named = `${at} (${preview(c.key)})`;
      if (!c.key.startsWith(`${c.kernel}|`)) return problem(`${named}: the key does not belong to kernel ${preview(c.kernel)}`);
      const launch = parseTuningKey(c.key);
      if (typeof launch === 'string') return problem(`${named}: not a launch key: ${launch}`);
      if (!isRecord(c.tile)) return problem(`${named}: 'tile' must be an object of override values`);
      const bad = tileProblem(launch.kernel, launch.uniforms, launch.fixed, c.tile);
      if (bad) return problem(`${named}: tile ${bad}`);
      if (seen.has(c.key)) return problem(`${named}: a second choice for the same key`);
      seen.add(c.key);
      // Only the tile keys are kept: nothing else a file holds can reach a pipeline.
      const given = c.tile;
      const tile = Object.fromEntries(tileSpace(launch.kernel)!.keys.map((k) => [k, given[k] as number]));
      const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
      choices.push({ kernel: c.kernel, key: c.key, tile, ms: n(c.ms), plannedMs: n(c.plannedMs), layers: n(c.layers), tried: n(c.tried) });
    });
    const ad = isRecord(a.adapter) ? a.adapter : {};
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    adapters[akey] = {
      adapter: { host: ad.host === 'browser' ? 'browser' : 'node', vendor: str(ad.vendor), architecture: str(ad.architecture), device: str(ad.device), description: str(ad.description), isFallback: ad.isFallback === true },
      updated: str(a.updated),
      choices,
    };
  }
  return { format: TUNING_FORMAT, adapters };
}

/** A parsed tuning file, checked to the last tile (checkTuning); the first problem is a TUNING error naming the entry and key. */
export function parseTuningFile(x: unknown, source = '<tuning>'): TuningFile {
  return checkTuning(x, source, (msg) => {
    throw new EffnetError('TUNING', msg);
  });
}

/** The choices a file holds for this adapter, if any. */
export function choicesFor(file: TuningFile, report: AdapterReport): TuningChoices | undefined {
  const a = Object.hasOwn(file.adapters, adapterKey(report)) ? file.adapters[adapterKey(report)] : undefined;
  return a && a.choices.length ? new Map(a.choices.map((c) => [c.key, c.tile])) : undefined;
}

/** `file` (or a new one) with this adapter's choices added; a key measured again replaces the old choice. */
export function mergeTuning(file: TuningFile | undefined, report: AdapterReport, choices: readonly TuningChoice[]): TuningFile {
  const key = adapterKey(report);
  const old = (file && Object.hasOwn(file.adapters, key) ? file.adapters[key]!.choices : undefined) ?? [];
  const fresh = new Set(choices.map((c) => c.key));
  const { host, vendor, architecture, device, description, isFallback } = report;
  return {
    format: TUNING_FORMAT,
    adapters: {
      ...file?.adapters,
      [key]: { adapter: { host, vendor, architecture, device, description, isFallback }, updated: new Date().toISOString(), choices: [...old.filter((c) => !fresh.has(c.key)), ...choices] },
    },
  };
}

/** Node's tuning cache file ($EFFNET_TUNING_DIR, else <engine cache>/tuning/tuning.json). */
export async function tuningCachePath(): Promise<string> {
  const { join } = await import('node:path');
  const { defaultCacheDir } = await import('../io/cache.js');
  return join(process.env.EFFNET_TUNING_DIR || join(await defaultCacheDir(), 'tuning'), 'tuning.json');
}

/** How a tuning file is read: the caller's abort and inactivity timeout; the size cap is TUNING_MAX_BYTES. */
export type TuningReadOptions = Pick<ReadPolicy, 'signal' | 'timeoutMs'>;

/** A tuning file's JSON; errors name the source and never quote its content (it may be any file). */
async function readTuningJson(where: string | web.URL, io: TuningReadOptions = {}): Promise<unknown> {
  const bytes = await readAll(where, { what: 'tuning', maxBytes: TUNING_MAX_BYTES, ...io });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new EffnetError('TUNING', `${String(where)}: not a tuning file (not UTF-8 text)`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    const at = /position (\d+)/.exec((cause as Error).message)?.[1];
    throw new EffnetError('TUNING', `${String(where)}: not a tuning file (not valid JSON${at ? ` at byte ${at}` : ''})`, { cause });
  }
}

/** Reads and checks a tuning file from a path or URL (parseTuningFile). */
export async function readTuningFile(where: string | web.URL, io: TuningReadOptions = {}): Promise<TuningFile> {
  return parseTuningFile(await readTuningJson(where, io), String(where));
}

/** SHA-256 of `text`, hex (Node only: the cache is Node's). */
async function sha256(text: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(text).digest('hex');
}

let kernelsDigest: Promise<string> | undefined;

/**
 * What the cache's entries were measured with: a digest of every kernel's WGSL (includes expanded). Tiles are
 * checked against the tile spaces either way; this also keeps a cache from older kernels from steering newer ones.
 */
export const engineStamp = (): Promise<string> => (kernelsDigest ??= sha256(KERNELS.map((k) => `${k.name}\n${kernelSource(k)}`).join('\n')).then((h) => `kernels-${h.slice(0, 16)}`));

/**
 * Node's tuning cache, or undefined when there is none yet. It is data the engine wrote, but anyone may have
 * written there: a cache from another build of the kernels, one whose checksum does not match (edited, or not
 * written by effnet) and every entry that does not check out are dropped with a warning (in `warnings`), never
 * applied and never fatal — a model still loads, with the planners' tiles.
 */
export async function readTuningCache(warnings: string[] = []): Promise<TuningFile | undefined> {
  const path = await tuningCachePath();
  const { existsSync } = await import('node:fs');
  if (!existsSync(path)) return undefined;
  try {
    const json = await readTuningJson(path);
    const stamp = isRecord(json) ? json : {};
    const engine = await engineStamp();
    if (stamp.engine !== engine) throw new EffnetError('TUNING', `${path}: written by another build of the kernels (${preview(stamp.engine)}, this one ${engine})`);
    if (typeof stamp.checksum !== 'string' || stamp.checksum !== (await sha256(JSON.stringify(stamp.adapters)))) {
      throw new EffnetError('TUNING', `${path}: its checksum does not match its entries (edited, or not written by effnet)`);
    }
    return checkTuning(json, path, (msg) => warnings.push(`${msg}: dropped`));
  } catch (e) {
    warnings.push(`${(e as Error).message}: the tuning cache is ignored`);
    return undefined;
  }
}

/**
 * Adds `choices` for this adapter to Node's tuning cache (written whole to a temporary file, then renamed),
 * stamped with the kernels' digest and the entries' checksum.
 */
export async function writeTuningCache(report: AdapterReport, choices: readonly TuningChoice[]): Promise<string> {
  const path = await tuningCachePath();
  const { mkdir, writeFile, rename } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  const merged = mergeTuning(await readTuningCache(), report, choices);
  const stamped = { format: merged.format, engine: await engineStamp(), adapters: merged.adapters, checksum: await sha256(JSON.stringify(merged.adapters)) };
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(stamped, null, 1) + '\n');
  await rename(tmp, path);
  return path;
}

/** What a model takes from a tuning source: the choices for its adapter, where they came from, what was dropped. */
export interface ResolvedTuning {
  choices?: TuningChoices;
  source: string;
  /** Cache entries (or the whole cache) dropped because they did not check out, one line each. */
  warnings: string[];
}

/** The tile choices a model on this adapter takes from `src` (default: Node's cache, or none in a browser). */
export async function resolveTuning(src: TuningSource | undefined, report: AdapterReport, io: TuningReadOptions = {}): Promise<ResolvedTuning> {
  const from = src ?? (isNode ? 'cache' : 'none');
  if (from === 'none') return { source: 'none', warnings: [] };
  if (from === 'cache') {
    if (!isNode) throw new EffnetError('INPUT', "tuning: 'cache' is Node's tuning cache; in a browser pass a tuning file (object or URL)");
    const warnings: string[] = [];
    const file = await readTuningCache(warnings);
    return { choices: file && choicesFor(file, report), source: await tuningCachePath(), warnings };
  }
  if (typeof from === 'string' || from instanceof URL) return { choices: choicesFor(await readTuningFile(from, io), report), source: String(from), warnings: [] };
  return { choices: choicesFor(parseTuningFile(from), report), source: '<tuning object>', warnings: [] };
}
