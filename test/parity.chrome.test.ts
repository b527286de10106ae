import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { openChromeHost, type ChromeHost } from '../tools/host.js';
import type { VerifyReport } from '../src/verify.js';

const fixtures = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));

// The same verification as test/parity.node.test.ts, inside headless Chromium's WebGPU.
describe('parity with torchvision (headless Chromium)', () => {
  let host: ChromeHost;
  beforeAll(async () => {
    host = await openChromeHost();
  });
  afterAll(async () => host?.close());

  test('efficientnet_b0 (batch 2): every features.i and the logits within relL2 1e-5', async () => {
    const report: VerifyReport = await host.session.page.evaluate(
      async (w, d) => {
        const e = (globalThis as unknown as { effnet: typeof import('../src/index.js') }).effnet;
        const model = await e.loadModel({ arch: 'efficientnet_b0', weights: w });
        try {
          const dump = e.parseSafetensors(new Uint8Array(await (await fetch(d)).arrayBuffer()));
          return await e.verifyModel(model, dump);
        } finally {
          model.dispose();
        }
      },
      host.url(fixtures + 'efficientnet_b0.weights.safetensors'),
      host.url(fixtures + 'efficientnet_b0.io.safetensors'),
    );
    expect(report.batch).toBe(2);
    expect(report.stages.map((s) => s.name)).toEqual([...Array(9).keys()].map((i) => `features.${i}`));
    for (const s of report.stages) expect(s.relL2, s.name).toBeLessThanOrEqual(1e-5);
    expect(report.logits!.relL2).toBeLessThanOrEqual(1e-5);
    expect(report.pass).toBe(true);
    expect(host.session.errors).toEqual([]);
  });
});
