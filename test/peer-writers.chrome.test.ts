/**
 * The peers' model files are only worth timing if they compute what our engine computes. Here each written
 * file runs in headless Chromium in the runtime `effnet bench` gives it — the .tflite in LiteRT.js (wasm and
 * WebGPU accelerators), the .onnx in ONNX Runtime Web's wasm EP — on the same weights and input as our engine,
 * and the logits must agree with ours: max |Δ| within the bench's own agreement bound (AGREEMENT.logits = 1e-3)
 * and relative L2 within MODEL_TOLERANCE.relL2 (1e-5, what `effnet verify` asks of us against PyTorch). f32
 * runtimes summing in different orders land at ~1e-7–1e-6 here; a wrong layout, weight or padding at ≥ 1e-2.
 *
 * Two networks at small resolutions, each on seeded random weights:
 * - B0 at 64 px, batch 2: torchvision's symmetric padding, so every stride-2 conv on an even size is PAD + VALID
 *   in TFLite, depthwise convs, SE, residuals;
 * - a V2-S-shaped table (efficientnet_v2_s at width 0.25, Fused-MBConv stages then MBConv) with TF SAME padding
 *   and an input affine (as TF-Hub's weights carry), at 72 px, batch 1: SAME convs, fused blocks, MUL + ADD input.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openChrome, type ChromeSession } from '../tools/harness/index.js';
import { PEER_ASSETS, PEER_ROOTS, runOnce } from '../tools/peers/peers.js';
import { ensurePeerModel } from '../src/cpu/model-files.js';
import type { EngineName, OpenSpec } from '../tools/browser/peers.js';
import { customArch, getArch, scaledArch, type ArchSpec } from '../src/model/tables.js';
import { randomParams } from '../src/weights/random.js';
import { serializeEffnetWeights } from '../src/weights/effnet-format.js';
import type { ModelParams } from '../src/weights/params.js';
import { errorStats } from '../src/verify.js';
import { MODEL_TOLERANCE } from '../src/tolerance.js';

/** effnet bench's agreement bound for logits (tools/peers/peers.ts AGREEMENT.logits). */
const AGREE = 1e-3;
const REL_L2 = MODEL_TOLERANCE.relL2;

interface Case {
  name: string;
  spec: ArchSpec;
  params: ModelParams;
  res: number;
  batch: number;
}

const v2sShaped = customArch(scaledArch('efficientnet_v2_s', { width: 0.25 }), { name: 'v2s_w025_same', padding: 'same' });
const CASES: Case[] = [
  { name: 'B0 @64 ×2, symmetric padding', spec: getArch('efficientnet_b0'), params: randomParams(getArch('efficientnet_b0'), 7), res: 64, batch: 2 },
  {
    name: 'V2-S-shaped (width 0.25) @72 ×1, SAME padding, input affine',
    spec: v2sShaped,
    params: { ...randomParams(v2sShaped, 11), inputAffine: { scale: [1.25, 1, 0.8], shift: [-0.1, 0, 0.1] } },
    res: 72,
    batch: 1,
  },
];

/** A deterministic input with structure (not noise), NHWC; NCHW is its transpose. */
function inputs(res: number, batch: number): { nhwc: Float32Array; nchw: Float32Array } {
  const nhwc = new Float32Array(batch * res * res * 3);
  const nchw = new Float32Array(nhwc.length);
  for (let n = 0; n < batch; n++)
    for (let y = 0; y < res; y++)
      for (let x = 0; x < res; x++)
        for (let c = 0; c < 3; c++) {
          // Amplitude ~0.3: random weights (no trained BatchNorm statistics) amplify larger inputs into
          // logits in the hundreds, where f32 rounding alone differs by 1e-4 relative between engines.
          const v = 0.3 * (Math.sin((x + 1) * (c + 1) * 0.21 + n) * Math.cos(y * 0.13 - c) + 0.1 * c);
          nhwc[((n * res + y) * res + x) * 3 + c] = v;
          nchw[((n * 3 + c) * res + y) * res + x] = v;
        }
  return { nhwc, nchw };
}


describe('written peer models agree with our engine (headless Chromium)', () => {
  let chrome: ChromeSession;
  let dir: string;
  const files = new Map<string, Uint8Array>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'effnet-peer-writers-'));
    for (const [i, c] of CASES.entries()) {
      const { nhwc, nchw } = inputs(c.res, c.batch);
      files.set(`/input/${i}-nhwc.f32`, new Uint8Array(nhwc.buffer));
      files.set(`/input/${i}-nchw.f32`, new Uint8Array(nchw.buffer));
      writeFileSync(join(dir, `${i}.safetensors`), serializeEffnetWeights(c.spec, c.params, c.params.inputAffine ? 'tfjs' : 'torchvision'));
      for (const format of ['tflite', 'onnx'] as const) await ensurePeerModel(format, c.spec, c.params, c.res, c.batch, { dir: join(dir, String(i)) });
    }
    chrome = await openChrome({ ...PEER_ROOTS(), models: dir }, { dynamic: async (path) => files.get(path) });
  });
  afterAll(async () => {
    await chrome?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test.each(CASES.map((c, i) => [c.name, i] as const))('%s: LiteRT wasm + WebGPU (.tflite) and ORT wasm (.onnx) vs ours', async (_, i) => {
    const c = CASES[i]!;
    const written = readdirSync(join(dir, String(i)));
    const file = (ext: string) => `/models/${i}/${written.find((f) => f.endsWith(ext))!}`;
    const spec = (engine: EngineName, modelUrl: string, layout: 'NCHW' | 'NHWC'): OpenSpec => ({
      engine, arch: c.spec, modelUrl, inputUrl: `/input/${i}-${layout.toLowerCase()}.f32`,
      shape: layout === 'NCHW' ? [c.batch, 3, c.res, c.res] : [c.batch, c.res, c.res, 3], layout, output: 'logits', ...PEER_ASSETS, target: 'auto',
    });
    const ours = await runOnce(chrome, spec('effnet-webgpu', `/models/${i}.safetensors`, 'NCHW'));
    expect(ours.output).toHaveLength(c.batch * c.spec.numClasses);
    // Non-degenerate logits: agreement within 1e-3 would mean little if they were all ~0.
    const spread = Math.max(...ours.output) - Math.min(...ours.output);
    expect(spread).toBeGreaterThan(0.1);
    const got: Record<string, { maxAbsErr: number; relL2: number }> = {};
    for (const [engine, url, layout] of [
      ['litert-wasm', file('.tflite'), 'NHWC'],
      ['litert-webgpu', file('.tflite'), 'NHWC'],
      ['ort-wasm', file('.onnx'), 'NCHW'],
    ] as const) {
      const peer = await runOnce(chrome, spec(engine, url, layout));
      expect(peer.output, engine).toHaveLength(ours.output.length);
      got[engine] = errorStats(peer.output, ours.output);
    }
    console.log(
      `${c.name}: logits spread ${spread.toFixed(2)}; vs ours: ` +
        Object.entries(got).map(([e, d]) => `${e} max |Δ| ${d.maxAbsErr.toExponential(2)}, relL2 ${d.relL2.toExponential(2)}`).join('; '),
    );
    for (const [engine, d] of Object.entries(got)) {
      expect(d.relL2, engine).toBeLessThan(REL_L2);
      expect(d.maxAbsErr, engine).toBeLessThan(AGREE);
    }
  });
});
