import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { openChromeHost, type ChromeHost } from '../tools/host.js';
import { MODEL_TOLERANCE } from '../src/tolerance.js';
import type { VerifyReport } from '../src/verify.js';

const fixtures = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));

// The same verification as test/parity.node.test.ts, inside headless Chromium's WebGPU.
describe('parity with torchvision (headless Chromium)', () => {
  let host: ChromeHost;
  beforeAll(async () => {
    host = await openChromeHost();
  });
  afterAll(async () => host?.close());

  for (const [arch, batch, stages] of [['efficientnet_b0', 2, 9], ['efficientnet_v2_s', 1, 8]] as const) {
    test(`${arch} (batch ${batch}): every features.i and the logits within MODEL_TOLERANCE.relL2`, async () => {
      const report: VerifyReport = await host.session.page.evaluate(
        async (a, w, d) => {
          const e = (globalThis as unknown as { effnet: typeof import('../src/index.js') }).effnet;
          const model = await e.loadModel({ backend: 'webgpu', arch: a, weights: w });
          try {
            const dump = e.parseSafetensors(new Uint8Array(await (await fetch(d)).arrayBuffer()));
            return await e.verifyModel(model, dump);
          } finally {
            model.dispose();
          }
        },
        arch,
        host.url(fixtures + `${arch}.weights.safetensors`),
        host.url(fixtures + `${arch}.io.safetensors`),
      );
      expect(report.batch).toBe(batch);
      expect(report.stages.map((s) => s.name)).toEqual([...Array(stages).keys()].map((i) => `features.${i}`));
      for (const s of report.stages) expect(s.relL2, s.name).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
      expect(report.logits!.relL2).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
      expect(report.pass).toBe(true);
      expect(host.session.errors).toEqual([]);
    });
  }
});
