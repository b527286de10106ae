/**
 * `effnet demo`: a page on 127.0.0.1 where you drop images and see the top-5 classes and where the GPU time
 * of that very inference went, stage by stage; its video mode classifies a webcam, a video file or a test clip
 * made from the sample photos continuously, with frames per second. The page runs the engine in the browser
 * (WebGPU); this process only serves it, the weights and the sample photos.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from '../command.js';
import { DEMO_DIST, parseFlags, serveStatic, type StaticServer } from '../harness/index.js';
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
  log?: (line: string) => void;
}

/** What the page reads from /config.json. */
export interface DemoConfig {
  arch: string;
  weights: string;
  preset: 'tfjs' | 'torchvision';
  labels: string[];
  samples: { name: string; url: string }[];
}

export async function startDemo(opts: DemoOptions = {}): Promise<StaticServer> {
  const arch = opts.arch ?? 'efficientnet_b0';
  getArch(arch); // an unknown name fails here, with the list of known ones, before anything is served
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
  };
  const configBytes = new TextEncoder().encode(JSON.stringify(config));
  const samples = new Map(pretrained.samples.map((s) => [basename(s), s]));
  // Only the weights themselves are served: the file, or a TF.js model.json and the shards its manifest names.
  const served = new Set([basename(weightsFile)]);
  // The manifest is validated as loadModel would (paths confined to the model's folder) before it is trusted here.
  if (tfjs) for (const p of tfjsShardPaths(await readTfjsModelJson(weightsFile), weightsFile)) served.add(p);
  return serveStatic({ '': DEMO_DIST }, async (path) => {
    if (path === '/config.json') return configBytes;
    // A TF.js model.json names its shards relative to itself, so they are served from its folder.
    const w = /^\/weights\/([^/]+)$/.exec(path);
    if (w && served.has(w[1]!)) return { file: join(dirname(weightsFile), w[1]!) };
    const s = /^\/samples\/([^/]+)$/.exec(path);
    if (s && samples.has(s[1]!)) return { file: samples.get(s[1]!)! };
    return undefined;
  }, opts.port ?? 0);
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Serve a page on 127.0.0.1: drop images or play video (webcam, file, test clip), see the top-5, frames/s and a per-stage GPU timing bar',
  usage: 'effnet demo [--port 8040] [--arch efficientnet_b0] [--weights W]',
  async run(args) {
    const { flags } = parseFlags(args, { strings: ['port', 'arch', 'weights'] });
    const port = flags.port === undefined ? 8040 : Number(flags.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${String(flags.port)}`);
    const log = (s: string) => process.stderr.write(s + '\n');
    const server = await startDemo({ arch: flags.arch as string | undefined, weights: flags.weights as string | undefined, port, log });
    console.log(`effnet demo: open ${server.url} in a browser with WebGPU (Ctrl-C stops it)`);
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
