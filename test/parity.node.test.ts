import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/api.js';
import { parseSafetensors } from '../src/safetensors.js';
import { MODEL_TOLERANCE } from '../src/tolerance.js';
import { verifyModel } from '../src/verify.js';
import { getArch } from '../src/model/tables.js';

const fixtures = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));
const dump = (name: string) => parseSafetensors(new Uint8Array(readFileSync(fixtures + name)), { source: name });

/**
 * Load `arch` from the torchvision fixtures (with `options`), check every stage and the logits of `schedule`
 * against the fixture's dump within MODEL_TOLERANCE.relL2, and free the model.
 */
async function expectParity(arch: string, options: { target?: 'gpu' } = {}, schedule?: 'quick'): Promise<void> {
  const model = await loadModel({ arch: getArch(arch), weights: fixtures + `${arch}.weights.safetensors`, ...options });
  try {
    const report = await verifyModel(model, dump(`${arch}.io.safetensors`), undefined, schedule);
    console.log(arch, options.target ?? '', schedule ?? '', JSON.stringify(report.stages.map((s) => [s.name, s.relL2.toExponential(2)])), 'logits', report.logits);
    expect(report.stages.length).toBeGreaterThan(7);
    for (const s of report.stages) expect(s.relL2, s.name).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
    expect(report.logits!.relL2).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
    expect(report.pass).toBe(true);
  } finally {
    model.dispose();
  }
}

describe('parity with torchvision (Node, Dawn)', () => {
  for (const arch of ['efficientnet_b0', 'efficientnet_v2_s']) {
    test(`${arch}: every features.i and the logits within MODEL_TOLERANCE.relL2`, () => expectParity(arch));
  }

  // A hardware GPU's schedule (workgroup-memory GEMMs, GPU-shaped depthwise and SE launches) runs correctly on
  // SwiftShader, just slowly: it must meet the same bound on both networks.
  for (const arch of ['efficientnet_b0', 'efficientnet_v2_s']) {
    test(`${arch} on the GPU target: every features.i and the logits within MODEL_TOLERANCE.relL2`, () => expectParity(arch, { target: 'gpu' }));
  }

  // The quick-start schedule (small tiles, dwconv_compact) answers the first run, so it must be as exact.
  test('efficientnet_b0 quick-start schedule: every features.i and the logits within MODEL_TOLERANCE.relL2', () => expectParity('efficientnet_b0', {}, 'quick'));
});
