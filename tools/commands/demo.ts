/**
 * `effnet demo`: a page on 127.0.0.1 where you drop images and see the top-5 classes and where the GPU time
 * of that very inference went, stage by stage; its video mode classifies a webcam, a video file or a test clip
 * made from the sample photos continuously, with frames per second. The page runs the engine in the browser,
 * with `loadModel`'s default backend 'auto': our WebGPU kernels on a hardware adapter, the CPU fallback (LiteRT.js's
 * wasm) where WebGPU is missing or software-only — when LiteRT.js is installed beside this package, whose module,
 * its one dependency and wasm folder this process then serves (the page maps `@litertjs/core` to them with an
 * import map, so the JS and the wasm always come from the same installed version; none of it is in the demo's
 * bundle). This process only serves the page, LiteRT.js, the weights and the sample photos.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from '../command.js';
import { DEMO_DIST, PACKAGE_ROOT, backendFlag, parseFlags, serveStatic, type Backend, type StaticServer } from '../harness/index.js';
import type { DemoConfig } from '../browser/demo-config.js';
import { ensurePretrainedB0 } from '../../src/weights/fetch.js';
import { getArch } from '../../src/model/tables.js';
import { tfjsShardPaths } from '../../src/weights/tfjs-manifest.js';
import { readTfjsModelJson } from '../../src/weights/tfjs-read.js';
import { isDirectory } from '../../src/io/read.js';

export interface DemoOptions {
  arch?: string;
  /** TF.js model dir / model.json, or a safetensors file; default: the pretrained TF-Hub B0. */
  weights?: string;
  /** 0 picks a free port. */
  port?: number;
  /** loadModel's backend in the page (default 'auto'); the page's `?backend=` overrides it. */
  backend?: Backend;
  /**
   * The folder @litertjs/core is looked up from, as Node resolves a package (its node_modules and those above it);
   * default this package's own folder. Not found there, the page runs WebGPU only and says so.
   */
  litertFrom?: string;
  log?: (line: string) => void;
}

export type { DemoConfig };

/** What `startDemo` serves: the server, and LiteRT.js as found (or why not). */
export interface DemoServer extends StaticServer {
  cpu: DemoConfig['cpu'] & { dir?: string };
}

/** Where the page's import map (tools/browser/demo.html) points `@litertjs/core` and its dependency. */
const LITERT_MODULES = { '@litertjs/core': '/litert/core.js', '@litertjs/wasm-utils': '/litert/wasm-utils.js' } as const;
/** Where the page finds LiteRT's wasm folder (served as a root, so its pthread workers get COOP/COEP too). */
const LITERT_WASM_PREFIX = 'litert-wasm';

interface LiteRtFound {
  version: string;
  dir: string;
  /** Served path → file, for the import map's entries. */
  modules: Map<string, string>;
  wasm: string;
}

/** The folder of package `name` as Node would find it from `from` (its exports map aside), or undefined. */
function packageDir(name: string, from: string): string | undefined {
  const paths = createRequire(join(from, 'package.json')).resolve.paths(name) ?? [];
  return paths.map((p) => join(p, name)).find((d) => existsSync(join(d, 'package.json')));
}

/** An ES module package's entry file (its `module`/`main` field, or index.js), if it exists. */
async function entryFile(dir: string): Promise<{ file: string; version: string } | undefined> {
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { main?: string; module?: string; version?: string };
  const file = join(dir, pkg.module ?? pkg.main ?? 'index.js');
  return existsSync(file) ? { file, version: pkg.version ?? '?' } : undefined;
}

/**
 * LiteRT.js as installed beside this package (an optional peer dependency): `@litertjs/core`'s module and wasm
 * folder, and `@litertjs/wasm-utils`, the one package it imports. Anything missing is a reason, never an error:
 * the demo then runs WebGPU only.
 */
export async function findLiteRt(from: string = PACKAGE_ROOT): Promise<LiteRtFound | { missing: string }> {
  const install = 'npm install @litertjs/core for the CPU fallback';
  const dir = packageDir('@litertjs/core', from);
  if (!dir) return { missing: `@litertjs/core is not installed (${install})` };
  try {
    const core = await entryFile(dir);
    const wasm = join(dir, 'wasm', '/');
    if (!core || !existsSync(join(wasm, 'litert_wasm_internal.wasm'))) return { missing: `${dir} has no dist module or wasm/ folder (reinstall it: ${install})` };
    const utilsDir = packageDir('@litertjs/wasm-utils', dir);
    const utils = utilsDir ? await entryFile(utilsDir) : undefined;
    if (!utils) return { missing: `@litertjs/wasm-utils, which @litertjs/core imports, is not installed beside it (${install})` };
    const modules = new Map([[LITERT_MODULES['@litertjs/core'], core.file], [LITERT_MODULES['@litertjs/wasm-utils'], utils.file]]);
    return { version: core.version, dir, modules, wasm };
  } catch (e) {
    return { missing: `cannot read @litertjs/core in ${dir}: ${(e as Error).message}` };
  }
}

export async function startDemo(opts: DemoOptions = {}): Promise<DemoServer> {
  const arch = opts.arch ?? 'efficientnet_b0';
  getArch(arch); // an unknown name fails here, with the list of known ones, before anything is served
  const backend = backendFlag(opts.backend);
  const litert = await findLiteRt(opts.litertFrom);
  if (backend === 'cpu' && 'missing' in litert) throw new Error(`--backend cpu runs on LiteRT.js: ${litert.missing}`);
  const pretrained = await ensurePretrainedB0({ log: opts.log });
  const weights = opts.weights ? resolve(opts.weights) : pretrained.modelDir;
  const tfjs = (await isDirectory(weights)) || weights.endsWith('.json');
  const weightsFile = tfjs ? ((await isDirectory(weights)) ? join(weights, 'model.json') : weights) : weights;
  // Fail now, with the path, rather than as a 404 inside the page; only a regular file is ever served.
  const st = await stat(weightsFile).catch((e: Error) => {
    throw new Error(`cannot read the weights ${weightsFile}: ${e.message}`);
  });
  if (!st.isFile()) throw new Error(`cannot read the weights ${weightsFile}: not a regular file`);
  const config: DemoConfig = {
    arch,
    weights: `/weights/${basename(weightsFile)}`,
    preset: tfjs ? 'tfjs' : 'torchvision',
    labels: pretrained.labels,
    samples: pretrained.samples.map((s) => ({ name: basename(s), url: `/samples/${basename(s)}` })),
    backend,
    cpu: 'missing' in litert ? { missing: litert.missing } : { wasm: `/${LITERT_WASM_PREFIX}/`, version: litert.version },
  };
  const configBytes = new TextEncoder().encode(JSON.stringify(config));
  const samples = new Map(pretrained.samples.map((s) => [basename(s), s]));
  // Only the weights themselves are served: the file, or a TF.js model.json and the shards its manifest names.
  const served = new Set([basename(weightsFile)]);
  // The manifest is validated as loadModel would (paths confined to the model's folder) before it is trusted here.
  if (tfjs) for (const p of tfjsShardPaths(await readTfjsModelJson(weightsFile), weightsFile)) served.add(p);
  const roots: Record<string, string> = { '': DEMO_DIST };
  if (!('missing' in litert)) roots[LITERT_WASM_PREFIX] = litert.wasm;
  const server = await serveStatic(roots, async (path) => {
    if (path === '/config.json') return configBytes;
    const module = 'missing' in litert ? undefined : litert.modules.get(path);
    if (module) return { file: module };
    // A TF.js model.json names its shards relative to itself, so they are served from its folder.
    const w = /^\/weights\/([^/]+)$/.exec(path);
    if (w && served.has(w[1]!)) return { file: join(dirname(weightsFile), w[1]!) };
    const s = /^\/samples\/([^/]+)$/.exec(path);
    if (s && samples.has(s[1]!)) return { file: samples.get(s[1]!)! };
    return undefined;
  }, opts.port ?? 0);
  return Object.assign(server, { cpu: 'missing' in litert ? config.cpu : { ...config.cpu, dir: litert.dir } });
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Serve a page on 127.0.0.1: drop images or play video (webcam, file, test clip), see the top-5, frames/s and a per-stage GPU timing bar (WebGPU) or wall times (CPU fallback)',
  usage:
    'effnet demo [--port 8040] [--arch efficientnet_b0] [--weights W] [--backend auto|webgpu|cpu]\n\n' +
    "  --backend  loadModel's backend in the page (default auto: WebGPU on a hardware adapter, the CPU fallback on\n" +
    '             LiteRT.js\'s wasm where WebGPU is missing or software-only, if @litertjs/core is installed; the page\n' +
    '             says which ran and why). The page\'s ?backend=webgpu|cpu|auto overrides it.',
  async run(args) {
    const { flags } = parseFlags(args, { strings: ['port', 'arch', 'weights', 'backend'] });
    const port = flags.port === undefined ? 8040 : Number(flags.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${String(flags.port)}`);
    const backend = backendFlag(flags.backend);
    const log = (s: string) => process.stderr.write(s + '\n');
    const server = await startDemo({ arch: flags.arch as string | undefined, weights: flags.weights as string | undefined, port, backend, log });
    log(
      'missing' in server.cpu
        ? `effnet demo: WebGPU only — ${server.cpu.missing}`
        : `effnet demo: CPU fallback on LiteRT.js ${server.cpu.version} (${server.cpu.dir}) where WebGPU is missing or software-only`,
    );
    console.log(`effnet demo: open ${server.url} in a browser (Ctrl-C stops it)`);
    await new Promise<void>((done) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void server.close().then(done);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
};
