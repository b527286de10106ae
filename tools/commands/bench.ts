/**
 * `effnet bench`: our engine against LiteRT.js (WebGPU and wasm accelerators), ONNX Runtime Web (WebGPU and
 * wasm EPs) and TensorFlow.js (WebGPU and wasm backends) in headless Chromium, on the same weights and input;
 * see tools/peers/peers.ts.
 */
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { targetFlag, type Command } from '../command.js';
import { readTuningFile } from '../../src/tuning/file.js';
import { parseFlags } from '../harness/index.js';
import { isDirectory } from '../../src/io/read.js';
import { BROWSER_DIST } from '../harness/index.js';
import { ARCHS } from '../../src/model/tables.js';
import { formatAdapter } from '../../src/gpu.js';
import { benchPeers, PEERS, type PeerName } from '../peers/peers.js';
import { fallbackLines, htmlReport, markdownReport, markdownTable } from '../peers/report.js';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'Latency, throughput and output agreement vs LiteRT.js, ONNX Runtime Web and TensorFlow.js in headless Chromium (and our CPU fallback vs LiteRT\'s wasm)',
  usage:
    'effnet bench --fixtures DIR [--arch efficientnet_b0,efficientnet_v2_s] [--res R,...] [--batch 1,4] [--runs 10] [--budget-s 60] ' +
    `[--peers ${PEERS.join(',')}] [--target auto|gpu|fallback] [--tuning FILE] [--out FILE.html|FILE.md] [--json]\n\n` +
    '  --fixtures  the torchvision fixtures folder (<arch>.json, <arch>.weights.safetensors, <arch>.onnx, tfjs_b0.io.safetensors),\n' +
    '              e.g. ../shared/fixtures in the effnet-webgpu checkout; default $EFFNET_FIXTURES\n' +
    '  --arch      zoo archs; one without a torchvision fixture in DIR runs on seeded random weights\n' +
    '  --res       resolutions to run every arch at (default: each model\'s own)\n' +
    '  --budget-s  per row: stop the steady-state runs once the row has used this many seconds (at least 3 runs)\n' +
    '  --peers     the engines beside ours (effnet-webgpu); effnet-cpu is our CPU fallback, loadModel({ backend: \'cpu\' }) on\n' +
    '              LiteRT.js\'s wasm with the TFLite file our package writes, each time set against litert-wasm (same file, build, threads)\n' +
    '  --target    our schedule: auto (by the adapter), gpu or fallback;  --tuning  a tuning file from effnet tune, for ours\n' +
    '  --json      {adapter, runs: [...], ratios: {"<peer>/effnet-webgpu@<model>@<res>@b<batch>": peer median / ours},\n' +
    '              fallback: {"effnet-cpu/litert-wasm@<model>@<res>@b<batch>": our CPU fallback\'s median / litert-wasm\'s}} on stdout\n\n' +
    'The peers\' models are written from the weights our engine loads — .tflite for LiteRT (input NHWC), .onnx for ORT ' +
    '(input NCHW; torchvision\'s stored B0 export at 224 where it exists) — one file per arch, resolution and batch, ' +
    'cached in <cache>/peer-models (cache: $EFFNET_CACHE or ~/.cache/effnet-webgpu), keyed by a hash of the weights; ' +
    'no Python or PyTorch is involved.',
  async run(args) {
    const { flags } = parseFlags(args, { flagsOnly: 'bench', strings: ['fixtures', 'arch', 'res', 'batch', 'runs', 'budget-s', 'peers', 'out', 'target', 'tuning'], booleans: ['json'] });
    // The peers (LiteRT.js, ONNX Runtime Web, TensorFlow.js) are development dependencies, bundled only in a checkout.
    if (!existsSync(join(BROWSER_DIST, 'peers.js'))) {
      throw new Error(
        'effnet bench runs LiteRT.js, ONNX Runtime Web and TensorFlow.js beside the engine, which the published package leaves out: ' +
          'run it from a checkout (git clone the effnet-webgpu repository, then npm run setup) — `effnet profile` and `effnet kernel-bench` work from the package',
      );
    }
    const fixtures = await fixturesDir(flags.fixtures as string | undefined);
    const archs = parseArchs((flags.arch as string | undefined) ?? 'efficientnet_b0,efficientnet_v2_s');
    const peers = parsePeers((flags.peers as string | undefined) ?? PEERS.join(','));
    const resolutions = flags.res === undefined ? undefined : intList(flags.res as string, 'res', 32);
    const batches = intList((flags.batch as string | undefined) ?? '1,4', 'batch', 1);
    const runs = Number(flags.runs ?? 10);
    if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${String(flags.runs)}`);
    const budgetS = Number(flags['budget-s'] ?? 60);
    if (!(budgetS > 0)) throw new Error(`--budget-s must be a positive number of seconds, got ${String(flags['budget-s'])}`);
    const out = flags.out === undefined ? undefined : resolve(flags.out as string);
    if (out !== undefined && !/\.(html|md)$/.test(out)) throw new Error(`--out must name a .html or .md file, got ${String(flags.out)}`);

    const target = targetFlag(flags.target);
    const tuning = flags.tuning === undefined ? undefined : await readTuningFile(resolve(flags.tuning as string));

    const log = (line: string) => process.stderr.write(line + '\n');
    const report = await benchPeers({ archs, resolutions, batches, runs, budgetS, peers, fixtures, log, target, ...(tuning ? { tuning } : {}) });
    if (out) {
      await writeFile(out, out.endsWith('.html') ? await htmlReport(report) : markdownReport(report));
      log(`bench: wrote ${out}`);
    }
    if (flags.json) {
      console.log(JSON.stringify(report, null, 1));
    } else {
      console.log(`# effnet bench in headless Chromium: ${formatAdapter(report.adapter)}\n`);
      console.log(markdownTable(report));
      console.log(`\n${report.timing}.`);
      const fallback = fallbackLines(report);
      if (fallback.length) console.log(`\n${fallback.join('\n')}`);
    }
    return report.runs.some((r) => r.status === 'failed') ? 1 : 0;
  },
};

/** The reference data is not part of the package: it comes from --fixtures or $EFFNET_FIXTURES, never a built-in path. */
async function fixturesDir(flag: string | undefined): Promise<string> {
  const given = flag ?? process.env.EFFNET_FIXTURES;
  if (!given) throw new Error('bench needs the torchvision fixtures folder: pass --fixtures DIR (or set EFFNET_FIXTURES)');
  const dir = resolve(given);
  if (!(await isDirectory(dir))) throw new Error(`${flag === undefined ? 'EFFNET_FIXTURES=' : '--fixtures '}${given}: no such folder`);
  return dir;
}

/** Zoo archs only: one with a fixture runs its seeded torchvision weights, any other seeded random ones. */
function parseArchs(list: string): string[] {
  const archs = [...new Set(list.split(',').map((s) => s.trim()).filter(Boolean))];
  if (!archs.length) throw new Error('--arch needs at least one architecture');
  for (const a of archs) if (!(a in ARCHS)) throw new Error(`unknown arch '${a}' (choose from ${Object.keys(ARCHS).join(', ')})`);
  return archs;
}

function parsePeers(list: string): PeerName[] {
  const peers = [...new Set(list.split(',').map((s) => s.trim()).filter(Boolean))];
  if (!peers.length) throw new Error(`--peers needs at least one of ${PEERS.join(', ')}`);
  for (const p of peers) if (!(PEERS as readonly string[]).includes(p)) throw new Error(`unknown peer '${p}' (choose from ${PEERS.join(', ')})`);
  return peers as PeerName[];
}

function intList(value: string, name: string, min: number): number[] {
  const items = value.split(',').map((s) => s.trim());
  const nums = items.map(Number);
  const bad = items.find((s, i) => !s || !Number.isInteger(nums[i]) || nums[i]! < min);
  if (bad !== undefined) throw new Error(`--${name} must be ${min === 1 ? 'positive integers' : `integers ≥ ${min}`}, got '${bad}'`);
  return [...new Set(nums)];
}
