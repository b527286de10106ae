/**
 * Hostile calls to a loaded model and to the CLI commands that run one, as data: each case names the error code
 * and a message fragment it must produce, and the model (or the CLI) must still work afterwards.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadModel } from '../src/api.js';
import { profileModel } from '../src/profile.js';
import { isEffnetError, type ErrorCode } from '../src/errors.js';
import { acquireGpu } from '../src/gpu.js';
import { getArch } from '../src/model/tables.js';
import type { Model } from '../src/runtime/model.js';
import { randomParams } from '../src/weights/random.js';
import { effnet } from './support/cli.js';

const RES = 64;
const N = 3 * RES * RES;
const shape = [1, 3, RES, RES];
const ramp = () => new Float32Array(N).map((_, i) => Math.sin(i * 0.01));

async function caught(p: () => Promise<unknown>): Promise<unknown> {
  try {
    await p();
  } catch (e) {
    return e;
  }
  return undefined;
}

function expectError(e: unknown, code: ErrorCode, re: RegExp): void {
  expect(isEffnetError(e, code), `expected EffnetError('${code}'), got ${String(e)}`).toBe(true);
  expect((e as Error).message).toMatch(re);
}

async function stillRuns(model: Model): Promise<void> {
  const y = await model.run({ data: ramp(), shape });
  expect(y.length).toBe(1000);
  expect(y.every(Number.isFinite)).toBe(true);
}

interface RunCase {
  name: string;
  call: (m: Model) => Promise<unknown>;
  code: ErrorCode;
  message: RegExp;
}

const f64 = new Float64Array(N);
const sab = new Float32Array(new SharedArrayBuffer(N * 4));
const withValue = (i: number, v: number) => Object.assign(new Float32Array(N), { [i]: v });
const huge = new Float32Array(N).fill(3e38);

const runCases: RunCase[] = [
  { name: 'null', call: (m) => m.run(null as never), code: 'INPUT', message: /got null/ },
  { name: 'undefined', call: (m) => m.run(undefined as never), code: 'INPUT', message: /got undefined/ },
  { name: 'a number', call: (m) => m.run(42 as never), code: 'INPUT', message: /got 42/ },
  { name: 'a plain array', call: (m) => m.run([0.1, 0.2] as never), code: 'INPUT', message: /got Array/ },
  { name: 'a bare Float64Array', call: (m) => m.run(f64 as never), code: 'INPUT', message: /got Float64Array/ },
  { name: '{data: Float64Array}', call: (m) => m.run({ data: f64 as never, shape }), code: 'INPUT', message: /data must be a Float32Array, got Float64Array/ },
  { name: '{data: number[]}', call: (m) => m.run({ data: [1, 2] as never, shape }), code: 'INPUT', message: /got Array/ },
  { name: '{data} without shape', call: (m) => m.run({ data: new Float32Array(N) } as never), code: 'INPUT', message: /shape must be .*got undefined/ },
  { name: 'shape as a string', call: (m) => m.run({ data: new Float32Array(N), shape: '1,3,64,64' as never }), code: 'INPUT', message: /got '1,3,64,64'/ },
  { name: 'shape with a string entry', call: (m) => m.run({ data: new Float32Array(N), shape: [1, 3, '64', 64] as never }), code: 'INPUT', message: /4 positive integers, got \[1, 3, '64', 64\]/ },
  { name: 'shape of 3 dims', call: (m) => m.run({ data: new Float32Array(N), shape: [3, RES, RES] }), code: 'INPUT', message: /4 positive integers/ },
  { name: 'zero batch', call: (m) => m.run({ data: new Float32Array(0), shape: [0, 3, RES, RES] }), code: 'INPUT', message: /4 positive integers, got \[0, 3, 64, 64\]/ },
  { name: 'lower-case layout', call: (m) => m.run({ data: new Float32Array(N), shape, layout: 'nchw' as never }), code: 'INPUT', message: /got 'nchw'/ },
  { name: '+Infinity in the input', call: (m) => m.run({ data: withValue(5, Infinity), shape }), code: 'INPUT', message: /Infinity at index 5/ },
  { name: 'runStages with null', call: (m) => m.runStages(null as never), code: 'INPUT', message: /got null/ },
  { name: 'huge finite input (3e38)', call: (m) => m.run({ data: huge, shape }), code: 'NUMERIC', message: /logits are non-finite \((NaN|-?Infinity) at index \d+\); the first non-finite stage output is features\.0/ },
  { name: 'huge finite input, probabilities', call: (m) => m.run({ data: huge, shape }, { probabilities: true }), code: 'NUMERIC', message: /probabilities are non-finite .*features\.0/ },
  { name: 'huge finite input, tuned tier', call: (m) => m.run({ data: huge, shape }, { tier: 'tuned' }), code: 'NUMERIC', message: /features\.0/ },
  { name: 'huge finite input, runStages', call: (m) => m.runStages({ data: huge, shape }, { tier: 'quick' }), code: 'NUMERIC', message: /logits are non-finite .*features\.0/ },
];

describe('hostile run() arguments and outputs: every one an EffnetError, the model fine afterwards', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: 'random' });
  });
  afterAll(() => model?.dispose());

  test.each(runCases)('$name → $code', async ({ call, code, message }) => {
    expectError(await caught(() => call(model)), code, message);
    await stillRuns(model);
  });

  test('profileModel refuses inputs EfficientNet cannot downsample, like run() does', async () => {
    expectError(await caught(() => profileModel(model, { res: 4, runs: 1 })), 'INPUT', /res must be at least 8 \(EfficientNet downsamples 32×\), got 4/);
    await stillRuns(model);
  });

  test('a SharedArrayBuffer-backed Float32Array runs and gives what the same values in an ArrayBuffer give', async () => {
    sab.set(ramp());
    expect(Array.from(await model.run({ data: sab, shape }))).toEqual(Array.from(await model.run({ data: ramp(), shape })));
  });

  test('the input is captured at call time: mutating it after run() returns cannot change the result', async () => {
    const want = await model.run({ data: ramp(), shape });
    const x = ramp();
    // Queue several runs so that the later ones upload well after their call returned.
    const pending = [0, 1, 2].map(() => model.run({ data: x, shape }));
    x.fill(NaN);
    for (const y of await Promise.all(pending)) expect(Array.from(y)).toEqual(Array.from(want));
  });
});

describe('numerically broken weights: NUMERIC naming the stage that overflowed', () => {
  test('finite but huge weights in features.4 (two projections ×1e38)', async () => {
    const spec = { ...getArch('efficientnet_b0'), resolution: RES };
    const params = randomParams(spec);
    // B0's blocks 5–7 are features.4: its first projection lifts activations to ~1e37 (still finite), the
    // second multiplies those by ~1e38 again and overflows float32.
    for (const b of [5, 6]) {
      const w = params.blocks[b]!.project.weight;
      for (let i = 0; i < w.length; i++) w[i]! *= 1e38;
    }
    const model = await loadModel({ backend: 'webgpu', arch: spec, weights: params });
    try {
      expectError(await caught(() => model.run({ data: ramp(), shape })), 'NUMERIC', /logits are non-finite .*the first non-finite stage output is features\.4\b/);
      expectError(await caught(() => model.runStages({ data: ramp(), shape }, { tier: 'quick' })), 'NUMERIC', /features\.4\b/);
    } finally {
      model.dispose();
    }
  });
});

describe('dispose() under work in flight', () => {
  // Either way the device outlives the model (the shared one that loadModel leases, or the caller's): WebGPU
  // aborts the pending map of the destroyed staging buffer (a bare AbortError underneath).
  test.each([
    { name: 'on the shared device', gpu: async () => undefined },
    { name: "on the caller's device", gpu: acquireGpu },
  ])('$name: the running call and the queued ones reject with DISPOSED', async ({ gpu }) => {
    const device = await gpu();
    const model = await loadModel({ arch: 'efficientnet_b0', weights: 'random', backend: 'webgpu', ...(device ? { device } : {}) });
    await stillRuns(model);
    const calls = [
      model.run({ data: ramp(), shape }),
      model.run({ data: ramp(), shape }, { probabilities: true }),
      model.runStages({ data: ramp(), shape }, { tier: 'quick' }),
      // A new shape: this one is still compiling when dispose() comes.
      model.run({ data: new Float32Array(3 * 72 * 72), shape: [1, 3, 72, 72] }),
      // Compiles outside the inference queue, cut short the same way.
      model.prepare({ batch: 2, height: 80, width: 80 }),
      model.activationArena(1, 88, 88),
    ];
    // Let the first submit reach the queue, then pull the model out from under it.
    await new Promise((r) => setTimeout(r, 0));
    model.dispose();
    const errors = await Promise.all(calls.map((c) => caught(() => c)));
    for (const e of errors) if (e !== undefined) expectError(e, 'DISPOSED', /disposed/);
    expect(errors.filter((e) => e !== undefined).length).toBeGreaterThanOrEqual(2);
    expectError(await caught(() => model.run({ data: ramp(), shape })), 'DISPOSED', /disposed/);
    // A fresh model on that device (or a fresh one) still works.
    const again = await loadModel({ arch: 'efficientnet_b0', weights: 'random', backend: 'webgpu', ...(device ? { device } : {}) });
    try {
      await stillRuns(again);
    } finally {
      again.dispose();
      device?.destroy();
    }
  });
});

interface CliCase {
  name: string;
  args: string[];
  message: RegExp;
  not?: RegExp;
  /** The `code` of the JSON error object printed with --json (an EffnetError's, else 'CLI'). */
  code?: string;
}

const cliCases: CliCase[] = [
  { name: 'profile --res 1', args: ['profile', '--arch', 'efficientnet_b0', '--res', '1'], message: /--res must be at least 8/ },
  { name: 'profile --res 7', args: ['profile', '--arch', 'efficientnet_b0', '--res', '7', '--json'], message: /--res must be at least 8 .*got 7/ },
  { name: 'verify --io missing', args: ['verify', '--arch', 'efficientnet_b0', '--weights', 'random', '--io', '/no/such/ref.safetensors'], message: /--io \/no\/such\/ref\.safetensors: cannot read the reference dump \(no such file\)/, not: /ENOENT/ },
  { name: 'verify --io a directory', args: ['verify', '--arch', 'efficientnet_b0', '--weights', 'random', '--io', '/tmp'], message: /--io \/tmp: not a regular file/, not: /EISDIR/ },
  { name: 'classify --json, weights that are not a file', args: ['classify', '--weights', '/dev/zero', '--json'], message: /\/dev\/zero.*not a regular file/, code: 'IO' },
  { name: 'classify --json, an unknown architecture', args: ['classify', '--arch', 'efficientnet_b9', '--weights', 'random', '--json'], message: /efficientnet_b9/, code: 'MODEL_SPEC' },
  { name: 'classify --json, a bad flag value', args: ['classify', '--top', '0', '--json'], message: /--top must be a positive integer, got 0/ },
];

describe('hostile CLI flags of the commands that run a model (the built dist/effnet.js)', () => {
  test.each(cliCases)('$name', async ({ args, message, not, code }) => {
    const r = await effnet(...args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    if (not) expect(r.stderr).not.toMatch(not);
    if (args.includes('--json')) {
      // With --json every failure is one JSON object on stdout, carrying the same message.
      const out = JSON.parse(r.stdout) as { error: { code: string; message: string } };
      expect(out.error.message).toMatch(message);
      expect(out.error.code).toBe(code ?? 'CLI');
    } else {
      expect(r.stdout).toBe('');
    }
  });

  test('the CLI still works afterwards', async () => {
    expect((await effnet('info', 'efficientnet_b0', '--json')).code).toBe(0);
  });
});
