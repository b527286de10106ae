import { describe, expect, test } from 'vitest';
import { loadModel } from '../src/api.js';
import { classifyImages } from '../src/classify.js';
import { ensurePretrainedB0 } from '../src/weights/fetch.js';
import { expectTfjsTop1, shared } from './support/tfjs-photos.js';

describe('classification of real photos with the real pretrained B0 (our decoder and GPU preprocessing)', () => {
  test('top-1 equals TensorFlow.js on all 16 ImageNet samples, top-1 probability within 0.02', async () => {
    const { modelDir } = await ensurePretrainedB0();
    const model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: modelDir });
    try {
      await expectTfjsTop1(model);
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
