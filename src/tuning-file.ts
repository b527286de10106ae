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
 * `effnet tune` adds to it, and `loadModel` reads it unless told otherwise.
 */
import { EffnetError } from './errors.js';
import { isNode } from './env.js';
import type { AdapterReport } from './gpu.js';
import type { Overrides } from './kernels/library.js';
import type { TuningChoices } from './kernels/tuning.js';

export const TUNING_FORMAT = 'effnet-tuning/1';

export interface TuningChoice {
  kernel: string;
  /** The launch's tuning key: kernel, uniforms and non-tile overrides. */
  key: string;
  /** The tile overrides chosen. */
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
export type TuningSource = TuningFile | string | URL | 'cache' | 'none';

/** The adapter identity tuning results are kept under: the same GPU and driver stack under the same host. */
export const adapterKey = (r: AdapterReport): string => [r.host, r.vendor, r.architecture, r.device, r.description].join('|');

const fail = (source: string, what: string): never => {
  throw new EffnetError('INPUT', `${source}: not an effnet tuning file: ${what}`);
};

/** Checks the structure of a parsed tuning file; every problem names the field. */
export function parseTuningFile(x: unknown, source = '<tuning>'): TuningFile {
  if (typeof x !== 'object' || x === null) fail(source, 'expected a JSON object');
  const f = x as Partial<TuningFile>;
  if (f.format !== TUNING_FORMAT) fail(source, `format must be '${TUNING_FORMAT}', got ${JSON.stringify(f.format)}`);
  if (typeof f.adapters !== 'object' || f.adapters === null || Array.isArray(f.adapters)) fail(source, "'adapters' must be an object");
  for (const [key, a] of Object.entries(f.adapters!)) {
    if (!Array.isArray(a?.choices)) fail(source, `adapters['${key}'].choices must be an array`);
    a.choices.forEach((c, i) => {
      const at = `adapters['${key}'].choices[${i}]`;
      if (typeof c?.key !== 'string' || typeof c.kernel !== 'string') fail(source, `${at} needs string 'kernel' and 'key'`);
      if (typeof c.tile !== 'object' || c.tile === null || Object.values(c.tile).some((v) => !Number.isInteger(v) || v < 1)) {
        fail(source, `${at}.tile must map override names to positive integers`);
      }
      if (!c.key.startsWith(`${c.kernel}|`)) fail(source, `${at}.key does not belong to kernel '${c.kernel}'`);
    });
  }
  return f as TuningFile;
}

/** The choices a file holds for this adapter, if any. */
export function choicesFor(file: TuningFile, report: AdapterReport): TuningChoices | undefined {
  const a = file.adapters[adapterKey(report)];
  return a && a.choices.length ? new Map(a.choices.map((c) => [c.key, c.tile])) : undefined;
}

/** `file` (or a new one) with this adapter's choices added; a key measured again replaces the old choice. */
export function mergeTuning(file: TuningFile | undefined, report: AdapterReport, choices: readonly TuningChoice[]): TuningFile {
  const key = adapterKey(report);
  const old = file?.adapters[key]?.choices ?? [];
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
  const { defaultCacheDir } = await import('./weights/fetch.js');
  return join(process.env.EFFNET_TUNING_DIR || join(await defaultCacheDir(), 'tuning'), 'tuning.json');
}

async function readText(where: string | URL): Promise<string> {
  const url = where instanceof URL ? where : /^(https?|file):/.test(where) ? new URL(where) : undefined;
  try {
    if (url && url.protocol !== 'file:') {
      const r = await fetch(url);
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return await r.text();
    }
    if (!isNode) throw new Error('a file path needs Node; in a browser pass a URL or the parsed object');
    const { readFile } = await import('node:fs/promises');
    return await readFile(url ?? where, 'utf8');
  } catch (cause) {
    throw new EffnetError('IO', `cannot read tuning from ${String(where)}: ${(cause as Error).message}`, { cause });
  }
}

/** Reads a tuning file from a path or URL. */
export async function readTuningFile(where: string | URL): Promise<TuningFile> {
  const text = await readText(where);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new EffnetError('INPUT', `${String(where)}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  return parseTuningFile(json, String(where));
}

/** Node's tuning cache, or undefined when there is none yet. */
export async function readTuningCache(): Promise<TuningFile | undefined> {
  const path = await tuningCachePath();
  const { existsSync } = await import('node:fs');
  return existsSync(path) ? readTuningFile(path) : undefined;
}

/** Adds `choices` for this adapter to Node's tuning cache (written whole to a temporary file, then renamed). */
export async function writeTuningCache(report: AdapterReport, choices: readonly TuningChoice[]): Promise<string> {
  const path = await tuningCachePath();
  const { mkdir, writeFile, rename } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  const merged = mergeTuning(await readTuningCache(), report, choices);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(merged, null, 1) + '\n');
  await rename(tmp, path);
  return path;
}

/** The tile choices a model on this adapter takes from `src` (default: Node's cache, or none in a browser). */
export async function resolveTuning(src: TuningSource | undefined, report: AdapterReport): Promise<{ choices?: TuningChoices; source: string }> {
  const from = src ?? (isNode ? 'cache' : 'none');
  if (from === 'none') return { source: 'none' };
  if (from === 'cache') {
    if (!isNode) throw new EffnetError('INPUT', "tuning: 'cache' is Node's tuning cache; in a browser pass a tuning file (object or URL)");
    const file = await readTuningCache();
    return { choices: file && choicesFor(file, report), source: await tuningCachePath() };
  }
  if (typeof from === 'string' || from instanceof URL) return { choices: choicesFor(await readTuningFile(from), report), source: String(from) };
  return { choices: choicesFor(parseTuningFile(from), report), source: '<tuning object>' };
}
