import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/api.js';
import { classifyImages } from '../src/classify.js';
import { readImageFile } from '../src/image/decode.js';
import { PREPROCESS_TFJS } from '../src/kernels/preprocess.js';
import { parseSafetensors } from '../src/safetensors.js';
import { ensurePretrainedB0 } from '../src/weights/fetch.js';

const shared = fileURLToPath(new URL('../../shared/', import.meta.url));

describe('classification of real photos with the real pretrained B0 (our decoder and GPU preprocessing)', () => {
  test('top-1 equals TensorFlow.js on all 16 ImageNet samples, top-1 probability within 0.02', async () => {
    const io = parseSafetensors(new Uint8Array(readFileSync(shared + 'fixtures/tfjs_b0.io.safetensors')));
    const names = io.metadata.images!.split(',');
    const want = io.get('probabilities').f32();
    const { modelDir, labels } = await ensurePretrainedB0();
    const model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: modelDir });
    try {
      const images = await Promise.all(names.map((n) => readImageFile(shared + 'images/' + n)));
      const preds = await classifyImages(model, images, { preset: PREPROCESS_TFJS, top: 5, labels });
      let correct = 0;
      preds.forEach((p, i) => {
        const row = want.subarray(i * 1000, (i + 1) * 1000);
        const tfTop = row.indexOf(Math.max(...row));
        expect(p[0]!.index, names[i]).toBe(tfTop);
        expect(Math.abs(p[0]!.prob - row[tfTop]!), names[i]).toBeLessThanOrEqual(0.02);
        expect(p[0]!.label).toBe(labels[tfTop]);
        // The class of image i is 63·i (shared/README.md); TF.js itself gets 14 of 16.
        if (p[0]!.index === 63 * i) correct++;
      });
      expect(correct).toBe(14);
    } finally {
      model.dispose();
    }
  });
});

describe("loadModel's prepare: the first classify runs on the tuned schedule", () => {
  test("prepare: 'classify' compiles exactly the schedule classify then runs; a bad prepare is refused before any weights byte", async () => {
    const photo = shared + 'images/n01440764_tench.JPEG';
    const model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0_small', weights: 'random', tuning: 'none', prepare: 'classify' });
    try {
      // Compiled before loadModel resolved: the tuned schedule of one image at the model's resolution.
      expect(model.memory().schedules.schedules).toBe(1);
      await classifyImages(model, [photo]);
      // classify found it: no quick schedule was compiled for its first run.
      expect(model.memory().schedules.schedules).toBe(1);
    } finally {
      model.dispose();
    }
    // Checked before the weights are read: the path does not exist, yet the error is about prepare.
    const bad = await loadModel({ backend: 'webgpu', weights: '/nonexistent.safetensors', prepare: [{ batch: 0, height: 8, width: 8 }] }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'INPUT' });
    expect((bad as Error).message).toMatch(/^prepare: each run must be 'classify' or \{ batch, height, width, layout\? \}/);
  });
});
