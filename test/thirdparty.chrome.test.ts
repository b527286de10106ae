/**
 * The same runs as test/thirdparty.node.test.ts inside headless Chromium's WebGPU: `effnet verify --host chrome`
 * with no --arch, for EfficientNet-PyTorch B0 and the standalone definition's effnetv2_s(width_mult=0.5).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { MODEL_TOLERANCE } from '../src/tolerance.js';
import { verifyJson } from './support/verify-cli.js';

const seeds = fileURLToPath(new URL('../../shared/fixtures/seeds/', import.meta.url));

describe('parity with third-party PyTorch model code (headless Chromium)', () => {
  for (const [name, arch] of [['lukemelas_b0', 'efficientnet_b0'], ['dli14_effnetv2_s_w050', 'effnetv2_s_w0.5']] as const) {
    test(`effnet verify --host chrome ${name}.pth, arch inferred as ${arch}: logits within MODEL_TOLERANCE.relL2`, async () => {
      const { code, report } = await verifyJson(['--weights', `${seeds}${name}.pth`, '--io', `${seeds}${name}.io.safetensors`, '--host', 'chrome']);
      expect(report).toMatchObject({ arch, host: 'chrome', pass: true });
      expect(report.logits!.relL2).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
      expect(code).toBe(0);
    });
  }
});
