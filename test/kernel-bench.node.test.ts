/**
 * `effnet kernel-bench` in Node: the contract check's one-line errors (no GPU needed), a compile error from
 * the device, and the two examples on B0 at a small resolution — the naive depthwise kernel passes every shape
 * and is slower than ours; the pointwise off-by-one fails exactly the layers that apply the SE gate — plus the
 * CLI's exit code and report. The Chromium run of both examples is test/kernel-bench.chrome.test.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadModel } from '../src/api.js';
import { isEffnetError } from '../src/errors.js';
import { kernelBench, type KernelBenchReport } from '../src/kernel-bench/bench.js';
import { adapterCeilings } from '../src/kernel-bench/ceilings.js';
import { BENCH_OPS, checkUserKernel, OP_KERNELS } from '../src/kernel-bench/contract.js';
import { overrideValues } from '../src/kernels/reflect.js';
import { kernelEntry, kernelSource } from '../src/kernels/registry.js';
import type { Model } from '../src/runtime/model.js';
import { adapterKey } from '../src/tuning/file.js';
import { effnet } from './support/cli.js';
import { networkRan } from './support/network.js';

const example = (name: string) => readFileSync(new URL(`../examples/kernels/${name}`, import.meta.url), 'utf8');
const NAIVE_DW = example('naive_dwconv.wgsl');
const OFF_BY_ONE = example('pointwise_off_by_one.wgsl');
// Small enough for SwiftShader, large enough that every depthwise kernel size and stride of B0 runs.
const RES = 32;

/** The one-line USER_KERNEL message `source` is refused with. */
function refusal(op: (typeof BENCH_OPS)[number], source: string, label: string): string {
  try {
    checkUserKernel(op, source, label);
  } catch (e) {
    expect(isEffnetError(e, 'USER_KERNEL'), String(e)).toBe(true);
    const message = (e as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    return message;
  }
  throw new Error(`${label} was accepted`);
}


/** `source` with `from` replaced by `to`, checking that `from` was there. */
function edit(source: string, from: string, to: string): string {
  expect(source).toContain(from);
  return source.replace(from, to);
}

describe('the contract check (before anything runs)', () => {
  test('every example kernel meets its op contract', () => {
    for (const [op, file] of [['dwconv', 'naive_dwconv'], ['pointwise', 'pointwise_off_by_one'], ['fused_conv', 'naive_fused_conv'], ['stem', 'naive_stem'], ['se_excite', 'naive_se_excite'], ['pool', 'naive_pool']] as const) {
      const k = checkUserKernel(op, example(`${file}.wgsl`), file);
      expect(k.dispatch.names.length, file).toBeGreaterThan(0);
    }
  });

  test('a mistyped binding names its line and both types', () => {
    const bad = edit(NAIVE_DW, 'var<storage, read> w: array<vec4<f32>>;', 'var<storage, read> w: array<f32>;');
    expect(refusal('dwconv', bad, 'k.wgsl')).toBe("k.wgsl:28: binding 'w' has type array<f32>, the dwconv contract has array<vec4<f32>>");
  });

  test('a missing binding, a renamed one and a wrong access mode', () => {
    const noPart = edit(edit(NAIVE_DW, '@group(0) @binding(5) var<storage, read_write> part: array<vec4<f32>>;\n', ''), 'part[slot * C4 + c4] = sum;', '');
    expect(refusal('dwconv', noPart, 'k.wgsl')).toBe(
      "k.wgsl:26: missing binding 'part' (the dwconv contract declares @group(0) @binding(5) var<storage, read_write> part: array<vec4<f32>>)",
    );
    const renamed = edit(NAIVE_DW, 'var<storage, read> b: array<vec4<f32>>;', 'var<storage, read> bias: array<vec4<f32>>;');
    expect(refusal('dwconv', renamed, 'k.wgsl')).toBe("k.wgsl:29: binding 'bias' is not part of the dwconv contract (bindings: params, x, w, b, y, part)");
    const writable = edit(NAIVE_DW, 'var<storage, read> x:', 'var<storage, read_write> x:');
    expect(refusal('dwconv', writable, 'k.wgsl')).toBe("k.wgsl:27: binding 'x' is storage, the dwconv contract has read-only-storage (var<storage, read> x: array<vec4<f32>>)");
  });

  test('a uniform field the engine does not provide, and one of the wrong type', () => {
    const unknown = edit(NAIVE_DW, '  count: u32,\n', '  count: u32,\n  channels: u32,\n');
    expect(refusal('dwconv', unknown, 'k.wgsl')).toBe(
      "k.wgsl:24: uniform field 'channels' does not exist in the dwconv contract's Params (fields: H, W, C4, Ho, Wo, padTop, padLeft, strips, rows, rowBlocks, count)",
    );
    const retyped = edit(OFF_BY_ONE, '  HW: u32,', '  HW: f32,');
    expect(refusal('pointwise', retyped, 'p.wgsl')).toBe("p.wgsl:15: uniform field 'HW' is f32, the pointwise contract's Params has u32");
  });

  test('a WGSL syntax error names the statement missing its semicolon', () => {
    const bad = edit(NAIVE_DW, '  let c4 = i % C4;', '  let c4 = i % C4');
    expect(refusal('dwconv', bad, 'k.wgsl')).toBe("k.wgsl:61: WGSL does not parse: Expected ';' after statement");
  });

  test('the Dispatch line: missing, unparsable, or naming what the engine does not provide', () => {
    expect(refusal('pool', edit(example('naive_pool.wgsl'), '// Dispatch: ceil(count / 64)\n', ''), 'p.wgsl')).toBe(
      "p.wgsl:1: no '// Dispatch: <workgroups>' header line (e.g. '// Dispatch: ceil(count / WG)', over Params fields, our overrides WG and overrides of its own with a default)",
    );
    expect(refusal('pool', edit(example('naive_pool.wgsl'), 'ceil(count / 64)', 'ceil(count / 64'), 'p.wgsl')).toBe("p.wgsl:6: Dispatch: expected ')' at the end in 'ceil(count / 64'");
    expect(refusal('pool', edit(example('naive_pool.wgsl'), 'ceil(count / 64)', 'ceil(N * C4 / 64)'), 'p.wgsl')).toBe(
      "p.wgsl:6: Dispatch: 'N' is neither a pool Params field nor an override (it may read count, C4, HW, WG and overrides of its own with a default)",
    );
    const own = edit(edit(example('naive_pool.wgsl'), 'ceil(count / 64)', 'ceil(count / LANES)'), '@compute', 'override LANES: u32;\n@compute');
    expect(refusal('pool', own, 'p.wgsl')).toMatch(/^p\.wgsl:6: Dispatch: 'LANES' is an override of its own without a default/);
  });

  // Our kernels are templates: a copy of any kernel an op's schedule may run passes that op's contract unchanged,
  // includes of our library and all, and its Dispatch line gives our workgroup count for our launch's values.
  test('a copy of every stock kernel of each op passes its contract, includes and all', () => {
    for (const op of BENCH_OPS) {
      for (const kernel of OP_KERNELS[op].scheduled) {
        const entry = kernelEntry(kernel);
        const user = checkUserKernel(op, entry.source, `${kernel}.wgsl`);
        expect(user.source, kernel).toBe(kernelSource(entry));
        const values = { count: 1000, N: 2, Ho: 15, Wo: 9, Cout4: 5, M: 301, N4: 7, C4: 6, HW: 49 };
        const given = Object.fromEntries(user.dispatch.names.map((n) => [n, values[n as keyof typeof values] ?? overrideValues(user.reflected, {})[n]!]));
        expect(user.dispatch.evaluate(given), kernel).toBe(entry.workgroups(given));
      }
    }
  });

  test('an include of a file not in our library names its line', () => {
    const src = edit(example('naive_pool.wgsl'), '// Dispatch: ceil(count / 64)\n', '// Dispatch: ceil(count / 64)\n//!include lib/mine.wgsl\n');
    expect(refusal('pool', src, 'p.wgsl')).toBe('p.wgsl:7: include of unknown file lib/mine.wgsl (kernels/lib/*.wgsl of effnet-webgpu may be included)');
  });

  test('an error inside an included library file is reported there', () => {
    const src = edit(kernelEntry('fused_conv').source, '//!include lib/conv_tile.wgsl', '//!include lib/conv_tile.wgsl\nfn broken() { let a = 1 }');
    expect(refusal('fused_conv', src, 'f.wgsl')).toMatch(/^f\.wgsl:\d+: WGSL does not parse/);
  });
});

describe('on the GPU (B0, Node)', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: 'random', quickStart: false });
  });
  afterAll(() => model?.dispose());

  test('a compile error is reported from the device with line and column', async () => {
    const bad = edit(NAIVE_DW, '  y[i] = conv_at(n, oh, ow, c4);', '  y[i] = conv_at(n, oh, ow);');
    const err = await kernelBench(model, checkUserKernel('dwconv', bad, 'k.wgsl'), { res: RES, runs: 1 }).catch((e: Error) => e);
    expect(isEffnetError(err, 'USER_KERNEL'), String(err)).toBe(true);
    expect((err as Error).message).toBe("k.wgsl:66:10: too few arguments in call to 'conv_at', expected 4, got 3");
  });

  test('a kernel WebGPU refuses fails every shape with the reason, and the network part says it did not run', async () => {
    // An override without a default that the engine does not set: pipeline creation fails.
    const bad = edit(edit(example('naive_pool.wgsl'), '@compute', 'override SCALE: f32;\n\n@compute'), 'y[i] = sum / f32(params.HW);', 'y[i] = sum / f32(params.HW) * SCALE;');
    const r = await kernelBench(model, checkUserKernel('pool', bad, 'p.wgsl'), { res: RES, runs: 1 });
    expect(r.ok).toBe(false);
    // B0's one pool launch and its edge launch.
    expect(r.shapes.map((s) => s.set)).toEqual(['model', 'edge']);
    for (const s of r.shapes) {
      expect(s.ours.ok).toBe(true);
      expect(s.theirs.ms).toBeNull();
      expect(s.theirs.messages[0]).toMatch(/^p\.wgsl: pipeline with overrides \{\} failed: /);
    }
    expect('error' in r.network && r.network.error).toMatch(/^p\.wgsl: pipeline with overrides \{\} failed: /);
  });

  test('naive depthwise: correct on every B0 shape and edge launch, timed with spreads and a layer-weighted total, the network agrees with the stock one', async () => {
    // A ceilings cache that is not ours (anyone may write there) is measured over, never trusted or fatal.
    const ceilingsCache = join(process.env.EFFNET_TUNING_DIR!, 'ceilings.json');
    writeFileSync(ceilingsCache, '{"format": "effnet-ceilings/1", "adapters": {"x": {"gflops": -1}}');
    const r: KernelBenchReport = await kernelBench(model, checkUserKernel('dwconv', NAIVE_DW, 'naive_dwconv.wgsl'), { res: RES, runs: 3 });
    expect(r.ceilings!.cached).toBe(false);
    expect(JSON.parse(readFileSync(ceilingsCache, 'utf8'))).toMatchObject({ format: 'effnet-ceilings/1', adapters: { [adapterKey(model.gpu.report)]: { gflops: r.ceilings!.gflops } } });
    // A rate achieved above a remembered ceiling (measured on a busy device) has it measured again, the higher kept.
    const again = await adapterCeilings(model.gpu, model.lib, { gflops: 2 * r.ceilings!.gflops, gbps: 0 });
    expect(again.gflops).toBeGreaterThanOrEqual(r.ceilings!.gflops);
    expect(again.measured >= r.ceilings!.measured).toBe(true);
    expect(r.timer).toBe('timestamp-query');
    // B0's depthwise layers: every (k, stride) pair it has, 16 layers in all, here in 12 distinct launches.
    const launches = r.shapes.filter((s) => s.set === 'model');
    expect(launches.length).toBe(12);
    expect(launches.reduce((a, s) => a + s.layers.length, 0)).toBe(16);
    // Per pipeline (4 at this resolution: K 3 and 5, stride 1 and 2) its probe, and a SAME-padded launch with a short last strip.
    const edge = r.shapes.filter((s) => s.set === 'edge');
    expect(edge.length).toBe(8);
    expect(edge.filter((s) => /^SAME padding \(\d before, 1 more after\) at stride 2, \d+ output columns \(last of \d+ strips short\), 2 images$/.test(s.why!))).toHaveLength(2);
    for (const s of r.shapes) {
      expect(s.ours.ok, s.ours.messages.join('; ')).toBe(true);
      expect(s.theirs.ok, s.theirs.messages.join('; ')).toBe(true);
      // y and the squeeze sums (every B0 depthwise conv feeds an SE), each run twice to the same bits.
      expect(s.theirs.messages).toHaveLength(2);
      for (const m of s.theirs.messages) expect(m).toMatch(/: ok, .*, two runs bit-identical$/);
      expect(s.launch).toMatch(/^K=[35] S=[12] TW=[48] WG=\d+ SQUEEZE=1$/);
    }
    for (const s of launches) expect(s.ours.ms! > 0 && s.theirs.ms! > 0).toBe(true);
    for (const s of edge) expect(s.theirs.ms).toBeNull();
    expect(r.ok).toBe(true);
    // The report's layer-weighted total is ms × layers summed (which side wins is the benchmark's to say, not a
    // test's); each median sits within its runs' spread.
    const total = (side: 'ours' | 'theirs') => launches.reduce((a, s) => a + s[side].ms! * s.layers.length, 0);
    expect(r.total).toMatchObject({ layers: 16, launches: 12 });
    expect(r.total!.stockMs).toBeCloseTo(total('ours'), 9);
    expect(r.total!.ratio).toBeCloseTo(total('theirs') / total('ours'), 9);
    for (const s of launches) for (const side of [s.ours, s.theirs]) expect(side.minMs! <= side.ms! && side.ms! <= side.maxMs!).toBe(true);
    // The roofline's ceilings, measured on this adapter: SwiftShader's FMA ceiling is single-digit GFLOP/s.
    expect(r.ceilings!.gflops).toBeGreaterThan(0.5);
    expect(r.ceilings!.gbps).toBeGreaterThan(0.1);
    const [lo, hi] = networkRan(r).swappedRange;
    expect(lo <= networkRan(r).swappedMs && networkRan(r).swappedMs <= hi).toBe(true);
    expect(networkRan(r).swapped).toBe(16);
    expect(networkRan(r).ok).toBe(true);
    expect(networkRan(r).relL2).toBeLessThan(networkRan(r).bound);
    expect(networkRan(r).stockMs).toBeGreaterThan(0);
    expect(networkRan(r).swappedMs).toBeGreaterThan(0);
  });

  test('iterating fast: only the named layers (prefixes) and their pipelines\' edge launches, no network: the verdict is the launches\'', async () => {
    const r = await kernelBench(model, checkUserKernel('dwconv', NAIVE_DW, 'naive_dwconv.wgsl'), { res: RES, runs: 1, layers: ['features.2', 'features.6.0'], network: false, ceilings: false });
    expect(r.shapes.filter((s) => s.set === 'model').flatMap((s) => s.layers)).toEqual(['features.2.0.dwconv', 'features.2.1.dwconv', 'features.6.0.dwconv']);
    expect(r.shapes.some((s) => s.set === 'edge')).toBe(true);
    expect(r.network).toEqual({ skipped: 'not asked for (--no-network)' });
    expect(r.layers).toEqual(['features.2', 'features.6.0']);
    expect(r.ceilings).toBeNull();
    expect(r.ok).toBe(true);
    const err = await kernelBench(model, checkUserKernel('dwconv', NAIVE_DW, 'naive_dwconv.wgsl'), { res: RES, layers: ['features.0'] }).catch((e: Error) => e);
    expect(isEffnetError(err, 'INPUT'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/^no dwconv layer of efficientnet_b0 matches --layers features\.0 \(its dwconv layers: features\.1\.0\.dwconv, /);
  });
});

describe('the CLI', () => {
  test('the pointwise off-by-one fails every projection (the layers with the SE gate) and nothing else; exit code 1', async () => {
    const r = await effnet('kernel-bench', '--op', 'pointwise', '--kernel', 'examples/kernels/pointwise_off_by_one.wgsl', '--res', String(RES), '--runs', '1', '--json');
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as KernelBenchReport;
    expect(report.ok).toBe(false);
    for (const s of report.shapes) {
      const projection = s.layers[0]!.endsWith('.project');
      expect(s.theirs.ok, `${s.layers[0]}: ${s.theirs.messages.join('; ')}`).toBe(!projection);
      expect(s.ours.ok).toBe(true);
      // How many values are wrong, where the first are, on which launch (the overrides switch the SE gate on).
      if (projection) expect(s.theirs.messages[0]).toMatch(/^y: FAIL on pointwise\w* .*SE_SCALE=1.*: \d+ of \d+ values wrong .*; first: \(n=\d+, (y=\d+, x=\d+|pixel=\d+), c=\d+\) got /);
    }
    expect(report.shapes.some((s) => s.set === 'edge' && !s.theirs.ok)).toBe(true);
    expect(report.shapes.filter((s) => !s.theirs.ok).length).toBeGreaterThan(5);
    expect(networkRan(report).ok).toBe(false);
  });

  test('a malformed kernel is one line on stderr, before any GPU work', async () => {
    const r = await effnet('kernel-bench', '--op', 'pool', '--kernel', 'examples/kernels/naive_dwconv.wgsl');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("effnet: naive_dwconv.wgsl:28: binding 'w' is not part of the pool contract (bindings: params, x, y)");
    const op = await effnet('kernel-bench', '--op', 'conv', '--kernel', 'examples/kernels/naive_dwconv.wgsl');
    expect(op.stderr.trim()).toBe("effnet: --op must be one of dwconv, pointwise, fused_conv, stem, se_excite, pool, got 'conv'");
  });
});
