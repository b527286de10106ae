/**
 * The 16 real ImageNet photos of ../shared/fixtures/tfjs_b0.io.safetensors with TensorFlow.js's probabilities for
 * the real pretrained B0, and the check every classify path is held to against them.
 */
import { expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { classifyImages } from '../../src/classify.js';
import type { CpuModel } from '../../src/cpu/model.js';
import { readImageFile } from '../../src/image/decode.js';
import { PREPROCESS_TFJS } from '../../src/kernels/preprocess.js';
import type { Model } from '../../src/runtime/model.js';
import { parseSafetensors } from '../../src/safetensors.js';
import { ensurePretrainedB0 } from '../../src/weights/fetch.js';

export const shared = fileURLToPath(new URL('../../../shared/', import.meta.url));

/**
 * Classifies the 16 photos with `model` (the real B0: `ensurePretrainedB0().modelDir`) through our decoder and TF.js's
 * preprocessing, and expects TF.js's top-1 on each, its top-1 probability within 0.02 and its label; the class of image
 * i is 63·i (shared/README.md), which TF.js itself gets for 14 of 16. Returns the photos' paths and predictions.
 */
export async function expectTfjsTop1(model: Model | CpuModel): Promise<{ paths: string[]; top: number[] }> {
  const io = parseSafetensors(new Uint8Array(readFileSync(shared + 'fixtures/tfjs_b0.io.safetensors')));
  const names = io.metadata.images!.split(',');
  const want = io.get('probabilities').f32();
  const { labels } = await ensurePretrainedB0();
  const paths = names.map((n) => shared + 'images/' + n);
  const images = await Promise.all(paths.map((p) => readImageFile(p)));
  const preds = await classifyImages(model, images, { preset: PREPROCESS_TFJS, top: 5, labels });
  let correct = 0;
  preds.forEach((p, i) => {
    const row = want.subarray(i * 1000, (i + 1) * 1000);
    const tfTop = row.indexOf(Math.max(...row));
    expect(p[0]!.index, names[i]).toBe(tfTop);
    expect(Math.abs(p[0]!.prob - row[tfTop]!), names[i]).toBeLessThanOrEqual(0.02);
    expect(p[0]!.label).toBe(labels[tfTop]);
    if (p[0]!.index === 63 * i) correct++;
  });
  expect(correct).toBe(14);
  return { paths, top: preds.map((p) => p[0]!.index) };
}
