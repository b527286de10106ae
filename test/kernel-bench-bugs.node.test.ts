/**
 * `effnet kernel-bench` catches what a depthwise kernel's author gets wrong (issue 24): bugs planted in copies of
 * examples/kernels/naive_dwconv.wgsl — a hard-coded K/2 padding, a missing last-strip bounds check, a squeeze slot
 * without its image, a write race on a squeeze slot, an image never written (this one also through the CLI and
 * its report) — each fail at B0 with the default launches (the model's and the edge launches) at the two resolutions a
 * developer reaches for, 128 and 224 (where every width may be a multiple of the strip), the message naming the
 * launch (overrides and shape) and the first wrong values as (n, y, x, c) or (n, c); the same K/2 padding planted
 * in the naive stem is caught too, and an SE gate that leaves its padding lanes at sigmoid(0). Timing and the network are cut to one run / left out: they decide nothing here. And
 * what must end before or instead of running (issue 23): a Dispatch line of 1e9 workgroups, a kernel that never
 * finishes, a FIFO as --kernel, an --out that cannot be written.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadModel } from '../src/api.js';
import { isEffnetError } from '../src/errors.js';
import { kernelBench, type KernelBenchReport, type ShapeRow } from '../src/kernel-bench/bench.js';
import { checkUserKernel } from '../src/kernel-bench/contract.js';
import type { Model } from '../src/runtime/model.js';
import { effnet } from './support/cli.js';

const NAIVE_DW = readFileSync(new URL('../examples/kernels/naive_dwconv.wgsl', import.meta.url), 'utf8');
const NAIVE_STEM = readFileSync(new URL('../examples/kernels/naive_stem.wgsl', import.meta.url), 'utf8');
const NAIVE_SE = readFileSync(new URL('../examples/kernels/naive_se_excite.wgsl', import.meta.url), 'utf8');
/** The resolutions the planted bugs must be caught at. */
const RESOLUTIONS = [128, 224];
// The CLI cases only need every depthwise kernel size and stride of B0, fast on SwiftShader.
const RES = 32;
const LAUNCH = String.raw`dwconv K=[357] S=[12] TW=[48] WG=\d+ SQUEEZE=1 \(H=\d+ W=\d+ .*\), layers features\.`;
const AT = String.raw`\(n=\d+, y=\d+, x=\d+, c=\d+\)`;
const AT_IMAGE = String.raw`\(n=\d+, c=\d+\)`;

/** `source` (the naive depthwise kernel by default) with `from` replaced by `to`, checking that `from` was there. */
function plant(from: string, to: string, source = NAIVE_DW): string {
  expect(source).toContain(from);
  return source.replace(from, to);
}

/** The failure messages of the failing launches of `set`. */
const failures = (r: KernelBenchReport, set?: ShapeRow['set']) =>
  r.shapes.filter((s) => !s.theirs.ok && (set === undefined || s.set === set)).map((s) => s.theirs.messages.filter((m) => / FAIL /.test(m)).join(' | '));

describe('planted bugs in the naive depthwise kernel (B0, default options)', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: 'random', quickStart: false });
  });
  afterAll(() => model?.dispose());
  test('a Dispatch line giving 1e9 workgroups is refused before anything runs, naming the shape', async () => {
    const huge = plant('// Dispatch: ceil(count / (rowBlocks * strips) * Ho * Wo / 64)', '// Dispatch: ceil(count / (rowBlocks * strips) * Ho * Wo / 64) * 1000000000');
    const log: string[] = [];
    const err = await kernelBench(model, checkUserKernel('dwconv', huge, 'huge.wgsl'), { res: RES, runs: 1, log: (l) => log.push(l) }).catch((e: Error) => e);
    expect(isEffnetError(err, 'LIMIT_EXCEEDED'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/^huge\.wgsl: Dispatch '.*' gives \d+ workgroups for features\.1\.0\.dwconv \(H=16 W=16 .*\), more than the \d+ a launch may have/);
    expect(log.filter((l) => /checking/.test(l))).toEqual([]);
  });

  /** The report at each of RESOLUTIONS with the default launches (the model's and the edge launches). */
  async function bench(source: string, op: 'dwconv' | 'stem' = 'dwconv'): Promise<KernelBenchReport[]> {
    const reports = [];
    for (const res of RESOLUTIONS) reports.push(await kernelBench(model, checkUserKernel(op, source, 'planted.wgsl'), { res, runs: 1, network: false, ceilings: false }));
    return reports;
  }

  test('a hard-coded K/2 padding: B0 pads symmetrically, so only the SAME edge launches at stride 2 catch it', async () => {
    for (const r of await bench(plant('let ih = i32(oh * S + kh) - i32(params.padTop);', 'let ih = i32(oh * S + kh) - i32(K / 2u);').replace('i32(params.padLeft)', 'i32(K / 2u)'))) {
      expect(r.ok, `@${r.res}`).toBe(false);
      expect(failures(r, 'model')).toEqual([]);
      const edge = r.shapes.filter((s) => !s.theirs.ok);
      expect(edge.length).toBeGreaterThan(0);
      for (const s of edge) expect(s.why).toMatch(/^SAME padding \(\d before, 1 more after\) at stride 2/);
      expect(failures(r)[0]).toMatch(new RegExp(`^y: FAIL on ${LAUNCH}.*: \\d+ of \\d+ values wrong .*; first: ${AT} got -?[\\d.e-]+, want `));
      // The report's failure table has the same, as data.
      const [failure] = edge[0]!.theirs.failures;
      expect(failure).toMatchObject({ output: 'y', differ: 0, firstDiff: null });
      expect(failure!.first[0]!.at).toMatch(new RegExp(`^${AT}$`));
    }
  });

  test('the same K/2 padding in the naive stem: its SAME edge launch catches it', async () => {
    const planted = plant('let ih = i32(2u * oh + kh) - i32(params.padTop);', 'let ih = i32(2u * oh + kh) - 1;', NAIVE_STEM).replace('i32(params.padLeft)', '1');
    for (const r of await bench(planted, 'stem')) {
      expect(failures(r, 'model'), `@${r.res}`).toEqual([]);
      const failed = r.shapes.filter((s) => !s.theirs.ok);
      expect(failed.map((s) => s.why)).toEqual(['SAME padding (0 before, 1 more after) at stride 2, 2 images']);
      expect(failures(r)[0]).toMatch(new RegExp(`^y: FAIL on stem TM=\\d+ TN=\\d+ WG=\\d+ \\(N=2 H=\\d+ W=\\d+ .*\\), layers features\\.0\\.stem: \\d+ of \\d+ values wrong .*; first: ${AT} got `));
    }
  });

  test('a gate that forgets its padding lanes: only the SE edge launch with channels ending inside a vec4 catches it', async () => {
    const planted = plant('se[i] = select(vec4<f32>(0.0), s, c < vec4<u32>(params.C));', 'se[i] = s;', NAIVE_SE);
    const r = await kernelBench(model, checkUserKernel('se_excite', planted, 'planted.wgsl'), { res: RESOLUTIONS[0], runs: 1, network: false, ceilings: false });
    expect(failures(r, 'model')).toEqual([]);
    const failed = r.shapes.filter((s) => !s.theirs.ok);
    expect(failed.length).toBeGreaterThan(0);
    for (const s of failed) expect(s.why).toMatch(/^\d+ channels \(the last vec4 one real, three padding lanes to write 0\), 2 images$/);
    expect(failures(r)[0]).toMatch(new RegExp(`^se: FAIL on se_excite WG=\\d+ \\(N=2 C=\\d+ .*\\), layers features\\..*: \\d+ of \\d+ values wrong .*; first: ${AT_IMAGE} got 0\\.\\d+, want 0`));
  });

  test('a missing bounds check on the last strip: the squeeze sums of a ragged strip are wrong', async () => {
    for (const r of await bench(plant('for (var q = ow; q < min(ow + TW, params.Wo); q++)', 'for (var q = ow; q < ow + TW; q++)'))) {
      expect(r.ok, `@${r.res}`).toBe(false);
      const edge = failures(r, 'edge');
      expect(edge.length).toBeGreaterThan(0);
      expect(edge[0]).toMatch(new RegExp(`^part \\(squeeze sums\\): FAIL on ${LAUNCH}.*; first: ${AT_IMAGE} got `));
    }
  });

  test('a squeeze slot indexed without its image: batch 2 overwrites the first image\'s slots and leaves the second\'s unwritten', async () => {
    for (const r of await bench(plant('let slot = (n * params.rowBlocks + oh / params.rows) * params.strips + ow / TW;', 'let slot = (oh / params.rows) * params.strips + ow / TW;'))) {
      expect(r.ok, `@${r.res}`).toBe(false);
      // The model runs batch 1: only the two-image edge launches catch it.
      expect(failures(r, 'model')).toEqual([]);
      // Both images write the first image's slots; the second image's stay NaN.
      expect(failures(r, 'edge')[0]).toMatch(new RegExp(`^part \\(squeeze sums\\): FAIL on ${LAUNCH}.*: \\d+ of \\d+ values wrong .*max abs err NaN.*; first: ${AT_IMAGE} got `));
    }
  });

  test('an output never written: a kernel that assumes one image leaves the second one NaN', async () => {
    for (const r of await bench(plant('let images = params.count / (params.rowBlocks * params.strips * C4);', 'let images = 1u;'))) {
      // B0 runs batch 1: its launches pass; the two-image edge launches fail, pointing at the second image.
      expect(failures(r, 'model'), `@${r.res}`).toEqual([]);
      expect(failures(r, 'edge')[0]).toMatch(new RegExp(`^y: FAIL on ${LAUNCH}.*: \\d+ of \\d+ values wrong .*; first: \\(n=1, y=0, x=0, c=0\\) got NaN \\(never written`));
    }
  });

  test('a write race: every invocation of a slot\'s first row writes the slot, from its own column', async () => {
    for (const r of await bench(plant('if (SQUEEZE && oh % params.rows == 0u && ow % TW == 0u) {', 'if (SQUEEZE && oh % params.rows == 0u) {'))) {
      expect(r.ok, `@${r.res}`).toBe(false);
      const all = failures(r);
      expect(all.length).toBeGreaterThan(0);
      expect(all[0]).toMatch(new RegExp(`^part \\(squeeze sums\\): FAIL on ${LAUNCH}.*(values wrong|two runs of the same launch differ).* ${AT_IMAGE}`));
    }
  });
});

describe('the CLI refuses at once, or abandons what never ends', () => {
  const dir = mkdtempSync(join(tmpdir(), 'effnet-kernel-bench-'));

  test('a FIFO as --kernel and an --out that is not a writable file are refused before any GPU work', async () => {
    const fifo = join(dir, 'fifo.wgsl');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    const r = await effnet('kernel-bench', '--op', 'dwconv', '--kernel', fifo);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`effnet: cannot read kernel from ${fifo}: not a regular file (a device, FIFO or socket)`);
    const folder = join(dir, 'report.json');
    mkdirSync(folder);
    const out = await effnet('kernel-bench', '--op', 'dwconv', '--kernel', 'examples/kernels/naive_dwconv.wgsl', '--out', folder, '--json');
    expect(out.code).toBe(1);
    expect(out.stderr.trim()).toBe(`effnet: cannot write --out ${folder}: not a regular file`);
    // One JSON document on stdout, the error.
    expect(JSON.parse(out.stdout)).toEqual({ error: { code: 'IO', message: `cannot write --out ${folder}: not a regular file` } });
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  test('an output never written, through the CLI: a kernel that assumes one image leaves the second one NaN', async () => {
    const oneImage = join(dir, 'one_image.wgsl');
    writeFileSync(oneImage, plant('let images = params.count / (params.rowBlocks * params.strips * C4);', 'let images = 1u;'));
    const r = await effnet('kernel-bench', '--op', 'dwconv', '--kernel', oneImage, '--res', String(RES), '--runs', '1');
    expect(r.code, r.stderr).toBe(1);
    // B0 runs batch 1: its launches pass; every two-image edge launch fails, and the report says where.
    expect(r.stdout).toMatch(/## The model's launches \(12\)\n/);
    expect(r.stdout.split('## Edge launches')[0]).not.toContain('| FAIL |');
    expect(r.stdout).toMatch(new RegExp(`\\n  - y: FAIL on ${LAUNCH}.*: \\d+ of \\d+ values wrong .*; first: \\(n=1, y=0, x=0, c=0\\) got NaN \\(never written`));
    expect(r.stdout).toMatch(/\nFAIL: 8 of 20 launch\(es\) incorrect\.\n/);
  });

  test('a kernel that never finishes is abandoned after --timeout-s with an error naming the shape, and its process ends', async () => {
    const forever = join(dir, 'forever.wgsl');
    writeFileSync(forever, plant('  y[i] = conv_at(n, oh, ow, c4);', '  loop { if (y[i].x < -1e30) { break; } y[i] = y[i] + vec4<f32>(1.0); }\n  y[i] = conv_at(n, oh, ow, c4);'));
    const r = await effnet('kernel-bench', '--op', 'dwconv', '--kernel', forever, '--res', String(RES), '--runs', '1', '--timeout-s', '2', '--json');
    expect(r.code).toBe(1);
    const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe('USER_KERNEL');
    expect(error.message).toMatch(/^forever\.wgsl on features\.1\.0\.dwconv \(dwconv K=3 S=1 .* \(H=16 W=16 .*\)\): did not finish within 2 s \(--timeout-s\)/);
    // The worker holding the spinning device was killed, not left behind (pgrep exits 1 when nothing matches).
    expect(() => execFileSync('pgrep', ['-f', forever])).toThrow();
  });
});
