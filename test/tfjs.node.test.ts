import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/api.js';
import { parseSafetensors } from '../src/safetensors.js';
import { MODEL_TOLERANCE } from '../src/tolerance.js';
import { verifyModel } from '../src/verify.js';
import { ensurePretrainedB0 } from '../src/weights/fetch.js';

const fixtures = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));

describe('real pretrained B0 (TF.js graph model) on the GPU', () => {
  test('reproduces TensorFlow.js probabilities within 1e-4 with identical top-1 on all 16 images', async () => {
    const { modelDir } = await ensurePretrainedB0();
    const model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: modelDir });
    try {
      expect(model.spec.padding).toBe('same');
      const io = parseSafetensors(new Uint8Array(readFileSync(fixtures + 'tfjs_b0.io.safetensors')));
      const report = await verifyModel(model, io);
      console.log('tfjs b0 probabilities', report.probabilities);
      expect(report.probabilities!.images).toBe(16);
      expect(report.probabilities!.top1Agree).toBe(16);
      expect(report.probabilities!.maxAbsErr).toBeLessThanOrEqual(MODEL_TOLERANCE.probAbs);
      expect(report.pass).toBe(true);
    } finally {
      model.dispose();
    }
  });
});
