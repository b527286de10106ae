/**
 * GPU parity (Node, Dawn) with third-party model code: EfficientNet-PyTorch B0 and the standalone EfficientNetV2
 * definition's effnetv2_s(width_mult=0.5), run as `effnet verify --weights X.pth --io X.io.safetensors` with no
 * --arch (family, variant and width read off the checkpoint's keys and shapes), against the PyTorch logits
 * (../shared/fixtures/seeds).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadModel } from '../src/api.js';
import { parseSafetensors } from '../src/safetensors.js';
import { MODEL_TOLERANCE } from '../src/tolerance.js';
import { errorStats } from '../src/verify.js';
import { verifyJson } from './support/verify-cli.js';

const seeds = fileURLToPath(new URL('../../shared/fixtures/seeds/', import.meta.url));

describe('parity with third-party PyTorch model code (Node, Dawn)', () => {
  for (const [name, arch] of [['lukemelas_b0', 'efficientnet_b0'], ['dli14_effnetv2_s_w050', 'effnetv2_s_w0.5']] as const) {
    test(`effnet verify ${name}.pth, arch inferred as ${arch}: logits within MODEL_TOLERANCE.relL2`, async () => {
      const { code, report } = await verifyJson(['--weights', `${seeds}${name}.pth`, '--io', `${seeds}${name}.io.safetensors`]);
      expect(report).toMatchObject({ arch, host: 'node', pass: true });
      expect(report.logits!.relL2).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
      expect(code).toBe(0);
    });
  }

  test('loadModel takes a PyTorch checkpoint without arch; weights that cannot name their network need one', async () => {
    const model = await loadModel({ backend: 'webgpu', weights: `${seeds}dli14_effnetv2_s_w050.pth` });
    try {
      expect(model.spec.name).toBe('effnetv2_s_w0.5');
      const io = parseSafetensors(new Uint8Array(readFileSync(`${seeds}dli14_effnetv2_s_w050.io.safetensors`)));
      const logits = await model.run({ data: io.get('input').f32(), shape: io.get('input').shape });
      expect(errorStats(logits, io.get('logits').f32()).relL2).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
    } finally {
      model.dispose();
    }
    await expect(loadModel({ backend: 'webgpu', weights: 'random' })).rejects.toThrow("random weights need an arch; only a state dict (safetensors or PyTorch checkpoint) names its own");
  });
});
