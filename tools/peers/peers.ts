/**
 * `effnet bench`: our engine next to ONNX Runtime Web and TensorFlow.js, all in one headless Chromium.
 *
 * A comparison is one model at one resolution and batch, run by our engine and by each peer on the same
 * weights and the same input: the torchvision models (our engine reads the fixture's safetensors, ORT its
 * ONNX export; logits compared) and the real TF-Hub B0 (both read the TF.js graph model; probabilities
 * compared). Every row runs in a fresh page, and ours runs first so its output is the reference.
 */
import { basename, dirname, join } from 'node:path';
import { BROWSER_DIST, PACKAGE_ROOT, openChrome, spread, type ChromeSession } from '../harness/index.js';
import { errorStats } from '../../src/verify.js';
import { getArch } from '../../src/model/tables.js';
import { ensurePretrainedB0 } from '../../src/weights/fetch.js';
import { MODEL_TOLERANCE } from '../../src/tolerance.js';
import type { AdapterReport } from '../../src/gpu.js';
import type { EngineName, OpenSpec, PeersPageApi } from '../browser/peers.js';
import type { TuningFile } from '../../src/tuning-file.js';
import { ensureOnnx, torchvisionFixture } from './onnx-fixtures.js';
import { loadPhotos, photoBatchNhwc, torchvisionNchw, type Photos } from './inputs.js';

export const OURS = 'effnet-webgpu';
export const PEERS = ['ort-webgpu', 'ort-wasm', 'tfjs-webgpu', 'tfjs-wasm'] as const;
export type PeerName = (typeof PEERS)[number];

/**
 * How closely a peer must reproduce our output (max |diff|) for its time to enter the ratios, so that a
 * fast wrong answer never wins. The seeded torchvision models' logits lie within ±1 (a random classifier)
 * and the TF-Hub probabilities within [0,1]; f32 engines summing in different orders differ by ~1e-6
 * there, while a wrong layout, weight or padding moves them by 1e-2 or more.
 */
const AGREEMENT = { logits: 1e-3, probabilities: MODEL_TOLERANCE.probAbs } as const;

const TIMING =
  'one inference = wall time inside the page (performance.now) from a Float32Array input on the CPU to a Float32Array ' +
  'output on the CPU: input upload, the whole network, output read-back (the same for every engine); first = the first ' +
  'such inference after loading (pipeline/shader compilation included); load = runtime start-up + fetching and ' +
  'preparing the model; median/p90 over the steady-state runs, which start once any background compilation the ' +
  'engine began after its first inference has finished (settleMs)';

export interface BenchRow {
  engine: EngineName;
  model: string;
  res: number;
  batch: number;
  loadMs: number | null;
  firstMs: number | null;
  /** Time to the first result: load + first inference. */
  firstResultMs: number | null;
  /**
   * Wait after the first inference before the steady-state runs, for compilation the engine does in the
   * background (our tuned pipelines after a quick-tier first run); ~0 for engines that do it all in the first run.
   */
  settleMs: number | null;
  medianMs: number | null;
  p90Ms: number | null;
  imagesPerS: number | null;
  /** Steady-state runs actually taken (the time budget can stop them early). */
  runs: number;
  /** Max |peer − ours| of `compared`, on the same input; null for our own rows and rows that did not run. */
  maxAbsDiff: number | null;
  compared: 'logits' | 'probabilities';
  /** Whether maxAbsDiff is within AGREEMENT (only then does the row enter the ratios). */
  agrees: boolean | null;
  status: 'ok' | 'skipped' | 'failed';
  /** Execution provider / backend / adapter actually used. */
  detail?: string;
  /** Why the row was skipped or failed, or that the budget cut its runs short. */
  note?: string;
}

export interface BenchReport {
  adapter: AdapterReport;
  timing: string;
  tolerance: typeof AGREEMENT;
  budgetS: number;
  runsRequested: number;
  runs: BenchRow[];
  /** "<peer>/effnet-webgpu@<model>@<res>@b<batch>": peer median / our median; > 1 means we are faster. */
  ratios: Record<string, number>;
}

export interface BenchOptions {
  archs: string[];
  /** Resolutions to run every arch at; default each model's own. */
  resolutions?: number[];
  batches: number[];
  runs: number;
  budgetS: number;
  peers: PeerName[];
  /** The torchvision fixtures folder (`effnet bench --fixtures`). */
  fixtures: string;
  /** Our engine's schedule target, and tuning (`--target`, `--tuning FILE`). */
  target: 'auto' | 'gpu' | 'fallback';
  tuning?: TuningFile;
  log: (line: string) => void;
}

const ORT_DIST = join(PACKAGE_ROOT, 'node_modules', 'onnxruntime-web', 'dist', '/');
const TFJS_WASM_DIST = join(PACKAGE_ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist', '/');

/** One model at one resolution: our engine plus the peers that run it (or why they cannot). */
interface Comparison {
  model: string;
  arch: string;
  res: number;
  output: 'logits' | 'probabilities';
  layout: 'NCHW' | 'NHWC';
  oursWeights: string;
  peers: { engine: PeerName; file?: string; skip?: string; fail?: string }[];
}

export const ratioKey = (peer: string, model: string, res: number, batch: number) => `${peer}/${OURS}@${model}@${res}@b${batch}`;

export async function benchPeers(o: BenchOptions): Promise<BenchReport> {
  const comparisons = await plan(o);
  const photos = await loadPhotos(o.fixtures);
  const served = new Served();
  // Every model folder is a root before the server starts.
  for (const c of comparisons) for (const file of [c.oursWeights, ...c.peers.map((p) => p.file)]) if (file) served.url(file);
  const session = await openChrome(served.roots, { dynamic: (path) => served.input(path, photos) });
  try {
    const adapter = await withPeersPage(session, (page) =>
      page.evaluate(() => (globalThis as unknown as PeersGlobal).effnetPeers.adapter()),
    );
    const rows: BenchRow[] = [];
    for (const c of comparisons) {
      for (const batch of o.batches) rows.push(...(await runComparison(session, served, c, batch, o)));
    }
    return { adapter, timing: TIMING, tolerance: AGREEMENT, budgetS: o.budgetS, runsRequested: o.runs, runs: rows, ratios: ratios(rows) };
  } finally {
    await session.close();
  }
}

async function plan(o: BenchOptions): Promise<Comparison[]> {
  const ort = o.peers.filter((p) => p.startsWith('ort-'));
  const tfjs = o.peers.filter((p) => p.startsWith('tfjs-'));
  const out: Comparison[] = [];
  for (const arch of o.archs) {
    const fx = await torchvisionFixture(o.fixtures, arch);
    for (const res of o.resolutions ?? [fx.res]) {
      const peers: Comparison['peers'] = [];
      if (ort.length) {
        const onnx = await ensureOnnx(fx, res, o.log).catch((e: Error) => ({ fail: e.message }));
        if ('skip' in onnx) o.log(`bench: skipping ${ort.join(', ')} on ${arch}@${res}: ${onnx.skip}`);
        peers.push(...ort.map((engine) => ({ engine, ...('path' in onnx ? { file: onnx.path } : onnx) })));
      }
      if (tfjs.length && arch !== 'efficientnet_b0') {
        const skip = `TensorFlow.js runs the real TF-Hub EfficientNet-B0 graph here; there is no TF.js ${arch} model`;
        peers.push(...tfjs.map((engine) => ({ engine, skip })));
      }
      out.push({ model: arch, arch, res, output: 'logits', layout: 'NCHW', oursWeights: fx.weights, peers });
    }
    if (tfjs.length && arch === 'efficientnet_b0') {
      const modelJson = join((await ensurePretrainedB0({ log: o.log })).modelDir, 'model.json');
      for (const res of o.resolutions ?? [getArch(arch).resolution]) {
        out.push({
          model: `${arch}-tfhub`, arch, res, output: 'probabilities', layout: 'NHWC', oursWeights: modelJson,
          peers: tfjs.map((engine) => ({ engine, file: modelJson })),
        });
      }
    }
  }
  // B0's torchvision comparison has no peers when only TF.js ones were asked for.
  return out.filter((c) => c.peers.length);
}

async function runComparison(session: ChromeSession, served: Served, c: Comparison, batch: number, o: BenchOptions): Promise<BenchRow[]> {
  const base = { model: c.model, res: c.res, batch, compared: c.output };
  const empty = { loadMs: null, firstMs: null, firstResultMs: null, settleMs: null, medianMs: null, p90Ms: null, imagesPerS: null, runs: 0, maxAbsDiff: null, agrees: null };
  const spec = (engine: EngineName, file: string): OpenSpec => ({
    engine, arch: c.arch, modelUrl: served.url(file), inputUrl: served.inputUrl(c.layout, c.res, batch), shape: c.layout === 'NCHW' ? [batch, 3, c.res, c.res] : [batch, c.res, c.res, 3],
    layout: c.layout, output: c.output, ortAssets: '/ort/', tfjsWasmAssets: '/tfjs-wasm/', target: o.target, ...(o.tuning ? { tuning: o.tuning } : {}),
  });
  const label = (engine: string) => `${engine} ${c.model}@${c.res} ×${batch}`;
  const rows: BenchRow[] = [];
  let reference: Float32Array | undefined;
  if (!c.peers.some((p) => p.file)) {
    rows.push({ engine: OURS, ...base, ...empty, status: 'skipped', note: 'no peer can run this comparison' });
  } else {
    try {
      const m = await measure(session, spec(OURS, c.oursWeights), label(OURS), o);
      reference = m.output;
      rows.push({ engine: OURS, ...base, ...measuredFields(m, batch), maxAbsDiff: null, agrees: null, status: 'ok' });
    } catch (e) {
      o.log(`bench: ${label(OURS)}: failed: ${(e as Error).message}`);
      rows.push({ engine: OURS, ...base, ...empty, status: 'failed', note: (e as Error).message });
    }
  }
  for (const p of c.peers) {
    if (!p.file) {
      rows.push({ engine: p.engine, ...base, ...empty, status: p.skip ? 'skipped' : 'failed', note: p.skip ?? p.fail! });
      continue;
    }
    try {
      const m = await measure(session, spec(p.engine, p.file), label(p.engine), o);
      const row: BenchRow = { engine: p.engine, ...base, ...measuredFields(m, batch), maxAbsDiff: null, agrees: null, status: 'ok' };
      if (reference) {
        row.maxAbsDiff = errorStats(m.output, reference).maxAbsErr;
        row.agrees = row.maxAbsDiff <= AGREEMENT[c.output];
        if (!row.agrees) {
          row.note = join2(row.note, `${c.output} differ from ${OURS} by up to ${row.maxAbsDiff.toExponential(2)} (tolerance ${AGREEMENT[c.output]}): left out of the ratios`);
        }
      } else {
        row.note = join2(row.note, `no ${OURS} output to compare with`);
      }
      rows.push(row);
    } catch (e) {
      o.log(`bench: ${label(p.engine)}: failed: ${(e as Error).message}`);
      rows.push({ engine: p.engine, ...base, ...empty, status: 'failed', note: (e as Error).message });
    }
  }
  return rows;
}

const join2 = (a: string | undefined, b: string) => (a ? `${a}; ${b}` : b);

interface Measured {
  loadMs: number;
  firstMs: number;
  settleMs: number;
  times: number[];
  output: Float32Array;
  detail: string;
  note?: string;
}

function measuredFields(m: Measured, batch: number) {
  const { median: medianMs, p90: p90Ms } = spread(m.times);
  return {
    loadMs: m.loadMs,
    firstMs: m.firstMs,
    firstResultMs: m.loadMs + m.firstMs,
    settleMs: m.settleMs,
    medianMs,
    p90Ms,
    imagesPerS: (batch * 1000) / medianMs,
    runs: m.times.length,
    detail: m.detail,
    ...(m.note ? { note: m.note } : {}),
  };
}

export const formatMs = (ms: number): string => (ms < 1000 ? `${ms.toFixed(ms < 10 ? 2 : 0)} ms` : `${(ms / 1000).toFixed(2)} s`);

type PeersGlobal = { effnetPeers: PeersPageApi };
type Page = Awaited<ReturnType<ChromeSession['browser']['newPage']>>;

/** A fresh page with the peers bundle loaded, closed afterwards whatever happens. */
async function withPeersPage<T>(session: ChromeSession, fn: (page: Page, errors: string[]) => Promise<T>): Promise<T> {
  const page = await session.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
    if (process.env.EFFNET_DEBUG) process.stderr.write(`[chrome ${m.type()}] ${m.text()}\n`);
  });
  try {
    await page.goto(session.url + 'index.html');
    await page.addScriptTag({ url: '/peers.js', type: 'module' });
    await page.waitForFunction('globalThis.effnetPeers !== undefined');
    return await fn(page, errors);
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!;
    throw new Error(errors.length && !msg.includes(errors[0]!) ? `${msg} (page: ${errors[0]})` : msg);
  } finally {
    await page.close().catch(() => undefined);
  }
}

/**
 * Load, first inference, settle, then steady-state runs until `runs` or the budget, counted from the start
 * of loading (at least 3 runs, or `runs` if fewer).
 */
function measure(session: ChromeSession, spec: OpenSpec, label: string, o: BenchOptions): Promise<Measured> {
  return withPeersPage(session, async (page) => {
    const t0 = performance.now();
    const infer = () => page.evaluate(() => (globalThis as unknown as PeersGlobal).effnetPeers.infer());
    try {
      o.log(`bench: ${label}: loading ${basename(spec.modelUrl)}`);
      const { loadMs, detail } = await page.evaluate((s) => (globalThis as unknown as PeersGlobal).effnetPeers.open(s), spec);
      o.log(`bench: ${label}: loaded in ${formatMs(loadMs)} (${detail})`);
      const firstMs = await infer();
      o.log(`bench: ${label}: first run ${formatMs(firstMs)}`);
      const settleMs = await page.evaluate(() => (globalThis as unknown as PeersGlobal).effnetPeers.settle());
      let note: string | undefined;
      // Only a wait worth mentioning: a promise that is already resolved still takes a few ms to report.
      if (settleMs >= 50) {
        note = `steady state ${formatMs(settleMs)} after the first result (background compilation)`;
        o.log(`bench: ${label}: ${note}`);
      }
      const times: number[] = [];
      const atLeast = Math.min(3, o.runs);
      for (let i = 1; i <= o.runs; i++) {
        if (i > atLeast && (performance.now() - t0) / 1000 >= o.budgetS) {
          const spent = `time budget of ${o.budgetS} s spent after ${i - 1} of ${o.runs} runs`;
          o.log(`bench: ${label}: ${spent}`);
          note = join2(note, spent);
          break;
        }
        const ms = await infer();
        times.push(ms);
        o.log(`bench: ${label}: run ${i}/${o.runs} ${formatMs(ms)}`);
      }
      const output = Float32Array.from(await page.evaluate(() => (globalThis as unknown as PeersGlobal).effnetPeers.output()));
      return { loadMs, firstMs, settleMs, times, output, detail, ...(note ? { note } : {}) };
    } finally {
      await page.evaluate(() => (globalThis as unknown as PeersGlobal).effnetPeers.close()).catch(() => undefined);
    }
  });
}

function ratios(rows: BenchRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) {
    if (r.engine === OURS || !r.agrees || r.medianMs === null) continue;
    const ours = rows.find((x) => x.engine === OURS && x.model === r.model && x.res === r.res && x.batch === r.batch);
    if (ours?.medianMs) out[ratioKey(r.engine, r.model, r.res, r.batch)] = r.medianMs / ours.medianMs;
  }
  return out;
}

/**
 * What the bench server serves: the page bundles, the peers' wasm folders, each model file's folder under
 * its own prefix (TF.js fetches its shards next to model.json), and the inputs made on request.
 */
class Served {
  readonly roots: Record<string, string> = { '': BROWSER_DIST, ort: ORT_DIST, 'tfjs-wasm': TFJS_WASM_DIST };
  private readonly dirs = new Map<string, string>();
  private readonly inputs = new Map<string, Uint8Array>();

  url(file: string): string {
    const dir = dirname(file);
    let prefix = this.dirs.get(dir);
    if (!prefix) {
      prefix = `model${this.dirs.size}`;
      this.dirs.set(dir, prefix);
      this.roots[prefix] = dir;
    }
    return `/${prefix}/${basename(file)}`;
  }

  inputUrl(layout: 'NCHW' | 'NHWC', res: number, batch: number): string {
    return `/input/${layout}-${res}-${batch}.f32`;
  }

  async input(path: string, photos: Photos): Promise<Uint8Array | undefined> {
    const m = /^\/input\/(NCHW|NHWC)-(\d+)-(\d+)\.f32$/.exec(path);
    if (!m) return undefined;
    let bytes = this.inputs.get(path);
    if (!bytes) {
      const [res, batch] = [Number(m[2]), Number(m[3])];
      const nhwc = photoBatchNhwc(photos, batch, res);
      const data = m[1] === 'NHWC' ? nhwc : torchvisionNchw(nhwc, batch, res);
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      this.inputs.set(path, bytes);
    }
    return bytes;
  }
}
