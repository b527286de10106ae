/**
 * `effnet bench`: our engine next to LiteRT.js, ONNX Runtime Web and TensorFlow.js, all in one headless Chromium.
 *
 * A comparison is one model at one resolution and batch, run by our engine and by each peer on the same
 * weights and the same input: the torchvision models (our engine reads the fixture's safetensors; LiteRT a
 * .tflite and ORT an .onnx written from the same loaded weights, peer-models.ts; logits compared) and the real
 * TF-Hub B0 (ours and TF.js read the TF.js graph model; probabilities compared). An arch without a stored
 * fixture runs on seeded random weights, written once as our own weights file. Every row runs in a fresh
 * page, and ours runs first so its output is the reference.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BROWSER_DIST, PACKAGE_ROOT, openChrome, spread, type ChromeSession } from '../harness/index.js';
import { errorStats } from '../../src/verify.js';
import { getArch, type ArchSpec } from '../../src/model/tables.js';
import { defaultCacheDir, replaceFile } from '../../src/io/cache.js';
import { ensurePretrainedB0 } from '../../src/weights/fetch.js';
import { resolveWeights } from '../../src/weights/load.js';
import { randomParams } from '../../src/weights/random.js';
import { serializeEffnetWeights } from '../../src/weights/effnet-format.js';
import type { ModelParams } from '../../src/weights/params.js';
import { MODEL_TOLERANCE } from '../../src/tolerance.js';
import type { AdapterReport } from '../../src/gpu.js';
import type { EngineName, OpenSpec, PeersPageApi } from '../browser/peers.js';
import type { TuningFile } from '../../src/tuning/file.js';
import { fixtureArchs, storedOnnx, torchvisionFixture } from './onnx-fixtures.js';
import { loadPhotos, photoBatchNhwc, torchvisionNchw, torchvisionNhwc, type Photos } from './inputs.js';
import { ensurePeerModel, weightsHash, type PeerFormat } from '../../src/cpu/model-files.js';

export const OURS = 'effnet-webgpu';
/**
 * Our CPU fallback (`loadModel({ backend: 'cpu' })`: our TFLite file on LiteRT.js's wasm build), run as a row of
 * its own beside the peers; its median is also set against litert-wasm's (`BenchReport.fallback`).
 */
export const FALLBACK = 'effnet-cpu' as const;
/** The peer the fallback is measured against: the same file format, runtime, wasm build and threads. */
export const FALLBACK_PEER = 'litert-wasm' as const;
export const PEERS = ['ort-webgpu', 'ort-wasm', 'tfjs-webgpu', 'tfjs-wasm', 'litert-webgpu', 'litert-wasm', FALLBACK] as const;
export type PeerName = (typeof PEERS)[number];

/**
 * How closely a peer must reproduce our output (max |diff|) for its time to enter the ratios, so that a
 * fast wrong answer never wins. The seeded torchvision models' logits lie within ±1 (a random classifier)
 * and the TF-Hub probabilities within [0,1]; f32 engines summing in different orders differ by ~1e-6
 * there, while a wrong layout, weight or padding moves them by 1e-2 or more. The logits bound scales with
 * the largest |logit| where that exceeds 1: seeded random weights (archs without a fixture) can give logits
 * in the hundreds, where f32 rounding alone grows in proportion.
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
  /**
   * "effnet-cpu/litert-wasm@<model>@<res>@b<batch>": our CPU fallback's median / litert-wasm's median in this same
   * run (< 1 means the fallback is faster), where both ran and neither disagrees with our output.
   */
  fallback: Record<string, number>;
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

export const ORT_DIST = join(PACKAGE_ROOT, 'node_modules', 'onnxruntime-web', 'dist', '/');
export const TFJS_WASM_DIST = join(PACKAGE_ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist', '/');
/** LiteRT.js's wasm builds (plain, threaded, JSPI, compat) and their Emscripten glue, served as they are. */
export const LITERT_DIST = join(PACKAGE_ROOT, 'node_modules', '@litertjs', 'core', 'wasm', '/');

/**
 * What an engine is fed: 'NCHW' the ImageNet-normalised photos as torchvision takes them, 'NHWCnorm' the same
 * values channels-last (the .tflite files' layout), 'NHWC' the raw [0, 1] photos the TF-Hub graph normalises itself.
 */
export type InputKind = 'NCHW' | 'NHWCnorm' | 'NHWC';

/** One model at one resolution: our engine plus the peers that run it (or why they cannot). */
interface Comparison {
  model: string;
  arch: string;
  res: number;
  output: 'logits' | 'probabilities';
  input: InputKind;
  oursWeights: string;
  /** Said on our row (e.g. that the weights are seeded random ones). */
  oursNote?: string;
  /** files: the model file per batch (one file for every batch where the format leaves the batch dynamic). */
  peers: { engine: PeerName; files?: Record<number, string>; input?: InputKind; skip?: string; fail?: string }[];
}

export const ratioKey = (peer: string, model: string, res: number, batch: number) => `${peer}/${OURS}@${model}@${res}@b${batch}`;
export const fallbackKey = (model: string, res: number, batch: number) => `${FALLBACK}/${FALLBACK_PEER}@${model}@${res}@b${batch}`;

export async function benchPeers(o: BenchOptions): Promise<BenchReport> {
  const comparisons = await plan(o);
  const photos = await loadPhotos(o.fixtures);
  const served = new Served();
  // Every model folder is a root before the server starts.
  for (const c of comparisons) for (const file of [c.oursWeights, ...c.peers.flatMap((p) => Object.values(p.files ?? {}))]) if (file) served.url(file);
  const session = await openChrome(served.roots, { dynamic: (path) => served.input(path, photos) });
  try {
    const adapter = await withPeersPage(session, (page) =>
      page.evaluate(() => (globalThis as unknown as PeersGlobal).effnetPeers.adapter()),
    );
    const rows: BenchRow[] = [];
    for (const c of comparisons) {
      for (const batch of o.batches) rows.push(...(await runComparison(session, served, c, batch, o)));
    }
    return { adapter, timing: TIMING, tolerance: AGREEMENT, budgetS: o.budgetS, runsRequested: o.runs, runs: rows, ratios: ratios(rows), fallback: fallbackRatios(rows) };
  } finally {
    await session.close();
  }
}

async function plan(o: BenchOptions): Promise<Comparison[]> {
  const ort = o.peers.filter((p) => p.startsWith('ort-'));
  const tfjs = o.peers.filter((p) => p.startsWith('tfjs-'));
  const litert = o.peers.filter((p) => p.startsWith('litert-'));
  const fallback = o.peers.includes(FALLBACK);
  const haveFixture = new Set(fixtureArchs(o.fixtures));
  const out: Comparison[] = [];
  for (const arch of o.archs) {
    const spec = getArch(arch);
    const fx = haveFixture.has(arch) ? await torchvisionFixture(o.fixtures, arch) : undefined;
    // The weights every engine of the comparison runs: the fixture's as our loader reads them, or seeded
    // random ones (written once as our own weights file, so our page loads exactly what the peers' files hold).
    let weights: { params: ModelParams; file: string; note?: string } | undefined;
    const load = async () => {
      if (weights) return weights;
      if (fx) {
        weights = { params: (await resolveWeights(spec, fx.weights)).params, file: fx.weights };
      } else {
        const params = randomParams(spec, RANDOM_SEED);
        const note = `seeded random weights (seed ${RANDOM_SEED}): ${o.fixtures} holds no torchvision fixture for ${arch}`;
        o.log(`bench: ${arch}: ${note}`);
        weights = { params, file: await ensureRandomWeights(spec, params), note };
      }
      return weights;
    };
    for (const res of o.resolutions ?? [fx?.res ?? spec.resolution]) {
      const peers: Comparison['peers'] = [];
      // Each format is written once per (res, batch) and shared by that runtime's engines.
      const written = async (format: PeerFormat): Promise<{ files: Record<number, string> } | { fail: string }> => {
        try {
          const w = await load();
          const files: Record<number, string> = {};
          for (const batch of o.batches) files[batch] = await ensurePeerModel(format, spec, w.params, res, batch, { log: (line) => o.log(`bench: ${line}`) });
          return { files };
        } catch (e) {
          o.log(`bench: writing the ${format} model of ${arch}@${res} failed: ${(e as Error).message}`);
          return { fail: `writing the ${format} model failed: ${(e as Error).message}` };
        }
      };
      if (ort.length) {
        // The stored torchvision export (dynamic batch) where it exists: PyTorch's own graph, an independent witness.
        const stored = fx && res === fx.res ? storedOnnx(fx) : undefined;
        const onnx = stored ? { files: Object.fromEntries(o.batches.map((b) => [b, stored])) } : await written('onnx');
        peers.push(...ort.map((engine) => ({ engine, ...onnx })));
      }
      if (litert.length) {
        const tflite = await written('tflite');
        peers.push(...litert.map((engine) => ({ engine, input: 'NHWCnorm' as const, ...tflite })));
      }
      if (fallback) {
        // Our CPU fallback loads our weights and writes its TFLite file itself (the same writer as the peers'
        // file above), fed the same channels-last input as LiteRT; it runs right after litert-wasm, so the two
        // medians it is compared by are taken back to back.
        const w = await load();
        const row = { engine: FALLBACK, input: 'NHWCnorm' as const, files: Object.fromEntries(o.batches.map((b) => [b, w.file])) };
        const at = peers.findIndex((p) => p.engine === FALLBACK_PEER);
        peers.splice(at < 0 ? peers.length : at + 1, 0, row);
      }
      if (tfjs.length && arch !== 'efficientnet_b0') {
        const skip = `TensorFlow.js runs the real TF-Hub EfficientNet-B0 graph here; there is no TF.js ${arch} model`;
        peers.push(...tfjs.map((engine) => ({ engine, skip })));
      }
      // Without a peer that can run (all skipped or failed) ours is not run either: no weights needed.
      const w = peers.some((p) => p.files) ? await load() : undefined;
      out.push({ model: arch, arch, res, output: 'logits', input: 'NCHW', oursWeights: w?.file ?? '', ...(w?.note ? { oursNote: w.note } : {}), peers });
    }
    if (tfjs.length && arch === 'efficientnet_b0') {
      const modelJson = join((await ensurePretrainedB0({ log: o.log })).modelDir, 'model.json');
      for (const res of o.resolutions ?? [spec.resolution]) {
        const files = Object.fromEntries(o.batches.map((b) => [b, modelJson]));
        out.push({ model: `${arch}-tfhub`, arch, res, output: 'probabilities', input: 'NHWC', oursWeights: modelJson, peers: tfjs.map((engine) => ({ engine, files })) });
      }
    }
  }
  // B0's torchvision comparison has no peers when only TF.js ones were asked for.
  return out.filter((c) => c.peers.length);
}

/** The seed of the random weights an arch without a fixture runs on (the same every run, so files are reused). */
const RANDOM_SEED = 1;

/** Our weights file of `params` (seeded random weights), in the cache beside the peers' files. */
async function ensureRandomWeights(spec: ArchSpec, params: ModelParams): Promise<string> {
  const dir = join(await defaultCacheDir(), 'peer-models');
  const target = join(dir, `${spec.name}-random-${(await weightsHash(spec, params)).slice(0, 16)}.safetensors`);
  if (existsSync(target)) return target;
  await mkdir(dir, { recursive: true });
  // Written beside the target and renamed into place, so an interrupted run leaves no half file behind.
  await replaceFile(target, serializeEffnetWeights(spec, params, 'torchvision'));
  return target;
}

async function runComparison(session: ChromeSession, served: Served, c: Comparison, batch: number, o: BenchOptions): Promise<BenchRow[]> {
  const base = { model: c.model, res: c.res, batch, compared: c.output };
  const empty = { loadMs: null, firstMs: null, firstResultMs: null, settleMs: null, medianMs: null, p90Ms: null, imagesPerS: null, runs: 0, maxAbsDiff: null, agrees: null };
  const spec = (engine: EngineName, file: string, input: InputKind): OpenSpec => ({
    engine, arch: c.arch, modelUrl: served.url(file), inputUrl: served.inputUrl(input, c.res, batch), shape: input === 'NCHW' ? [batch, 3, c.res, c.res] : [batch, c.res, c.res, 3],
    layout: input === 'NCHW' ? 'NCHW' : 'NHWC', output: c.output, ...PEER_ASSETS, target: o.target, ...(o.tuning ? { tuning: o.tuning } : {}),
  });
  const label = (engine: string) => `${engine} ${c.model}@${c.res} ×${batch}`;
  const rows: BenchRow[] = [];
  let reference: Float32Array | undefined;
  if (!c.peers.some((p) => p.files)) {
    rows.push({ engine: OURS, ...base, ...empty, status: 'skipped', note: 'no peer can run this comparison' });
  } else {
    try {
      const m = await measure(session, spec(OURS, c.oursWeights, c.input), label(OURS), o);
      reference = m.output;
      const row: BenchRow = { engine: OURS, ...base, ...measuredFields(m, batch), maxAbsDiff: null, agrees: null, status: 'ok' };
      if (c.oursNote) row.note = row.note ? `${c.oursNote}; ${row.note}` : c.oursNote;
      rows.push(row);
    } catch (e) {
      o.log(`bench: ${label(OURS)}: failed: ${(e as Error).message}`);
      rows.push({ engine: OURS, ...base, ...empty, status: 'failed', note: (e as Error).message });
    }
  }
  // Our CPU fallback and litert-wasm run the same kind of work on the same cores: measured together, run by run,
  // so a load that comes and goes on the machine falls on both medians alike and their ratio stays meaningful.
  const pair = [FALLBACK_PEER, FALLBACK].map((e) => c.peers.find((p) => p.engine === e && p.files?.[batch]));
  const together = new Map<EngineName, Measured>();
  if (pair[0] && pair[1]) {
    try {
      const ms = await measureTogether(session, pair.map((p) => spec(p!.engine, p!.files![batch]!, p!.input ?? c.input)), pair.map((p) => label(p!.engine)), o);
      pair.forEach((p, i) => together.set(p!.engine, ms[i]!));
    } catch (e) {
      // Each is then measured on its own below, where the one that fails says so in its own row.
      o.log(`bench: ${FALLBACK_PEER} and ${FALLBACK} together: failed (${(e as Error).message}); measuring them one after the other`);
    }
  }
  for (const p of c.peers) {
    const file = p.files?.[batch];
    if (!file) {
      rows.push({ engine: p.engine, ...base, ...empty, status: p.skip ? 'skipped' : 'failed', note: p.skip ?? p.fail! });
      continue;
    }
    try {
      const m = together.get(p.engine) ?? (await measure(session, spec(p.engine, file, p.input ?? c.input), label(p.engine), o));
      const row: BenchRow = { engine: p.engine, ...base, ...measuredFields(m, batch), maxAbsDiff: null, agrees: null, status: 'ok' };
      if (reference) {
        row.maxAbsDiff = errorStats(m.output, reference).maxAbsErr;
        const bound = AGREEMENT[c.output] * (c.output === 'logits' ? Math.max(1, ...reference.map(Math.abs)) : 1);
        row.agrees = row.maxAbsDiff <= bound;
        if (!row.agrees) {
          row.note = join2(row.note, `${c.output} differ from ${OURS} by up to ${row.maxAbsDiff.toExponential(2)} (tolerance ${bound.toExponential(2)}): left out of the ratios`);
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
async function measure(session: ChromeSession, spec: OpenSpec, label: string, o: BenchOptions): Promise<Measured> {
  return (await measureTogether(session, [spec], [label], o))[0]!;
}

/** Fresh pages, one per engine, open at once (each closed afterwards whatever happens). */
function withPeersPages<T>(session: ChromeSession, n: number, fn: (pages: Page[]) => Promise<T>, pages: Page[] = []): Promise<T> {
  return pages.length === n ? fn(pages) : withPeersPage(session, (page) => withPeersPages(session, n, fn, [...pages, page]));
}

/**
 * `measure` for several engines at once, each on its own page: all load, all run their first inference and
 * settle, then the steady-state runs go round the engines one run each (who goes first alternating by round), so
 * whatever else loads the machine meanwhile falls on every engine alike. The budget is the rows' together.
 */
function measureTogether(session: ChromeSession, specs: OpenSpec[], labels: string[], o: BenchOptions): Promise<Measured[]> {
  return withPeersPages(session, specs.length, async (pages) => {
    const t0 = performance.now();
    const infer = async (page: Page) => {
      // A page in front: Chromium may throttle a background page's tasks, which the other engine's page would not be.
      if (pages.length > 1) await page.bringToFront();
      return page.evaluate(() => (globalThis as unknown as PeersGlobal).effnetPeers.infer());
    };
    const states: { loadMs: number; detail: string; firstMs: number; settleMs: number; note?: string; times: number[] }[] = [];
    try {
      for (const [k, page] of pages.entries()) {
        o.log(`bench: ${labels[k]}: loading ${basename(specs[k]!.modelUrl)}`);
        const { loadMs, detail } = await page.evaluate((s) => (globalThis as unknown as PeersGlobal).effnetPeers.open(s), specs[k]!);
        o.log(`bench: ${labels[k]}: loaded in ${formatMs(loadMs)} (${detail})`);
        states.push({ loadMs, detail, firstMs: 0, settleMs: 0, times: [] });
      }
      for (const [k, page] of pages.entries()) {
        const st = states[k]!;
        st.firstMs = await infer(page);
        o.log(`bench: ${labels[k]}: first run ${formatMs(st.firstMs)}`);
        st.settleMs = await page.evaluate(() => (globalThis as unknown as PeersGlobal).effnetPeers.settle());
        // Only a wait worth mentioning: a promise that is already resolved still takes a few ms to report.
        if (st.settleMs >= 50) {
          st.note = `steady state ${formatMs(st.settleMs)} after the first result (background compilation)`;
          o.log(`bench: ${labels[k]}: ${st.note}`);
        }
      }
      if (pages.length > 1) {
        for (const [k, st] of states.entries()) {
          st.note = join2(st.note, `steady-state runs interleaved with ${specs.filter((_, j) => j !== k).map((s) => s.engine).join(', ')}, one run each in turn`);
        }
      }
      const atLeast = Math.min(3, o.runs);
      const budgetS = o.budgetS * pages.length;
      for (let i = 1; i <= o.runs; i++) {
        if (i > atLeast && (performance.now() - t0) / 1000 >= budgetS) {
          const spent = `time budget of ${o.budgetS} s${pages.length > 1 ? ` per row (${budgetS} s together)` : ''} spent after ${i - 1} of ${o.runs} runs`;
          for (const [k, st] of states.entries()) {
            o.log(`bench: ${labels[k]}: ${spent}`);
            st.note = join2(st.note, spent);
          }
          break;
        }
        const order = pages.map((_, k) => k);
        if (i % 2 === 0) order.reverse();
        for (const k of order) {
          const ms = await infer(pages[k]!);
          states[k]!.times.push(ms);
          o.log(`bench: ${labels[k]}: run ${i}/${o.runs} ${formatMs(ms)}`);
        }
      }
      const out: Measured[] = [];
      for (const [k, page] of pages.entries()) {
        const output = Float32Array.from(await page.evaluate(() => (globalThis as unknown as PeersGlobal).effnetPeers.output()));
        const { loadMs, firstMs, settleMs, times, detail, note } = states[k]!;
        out.push({ loadMs, firstMs, settleMs, times, output, detail, ...(note ? { note } : {}) });
      }
      return out;
    } finally {
      for (const page of pages) await page.evaluate(() => (globalThis as unknown as PeersGlobal).effnetPeers.close()).catch(() => undefined);
    }
  });
}

/** Our CPU fallback's median over litert-wasm's, per model, resolution and batch where both ran and agree. */
function fallbackRatios(rows: BenchRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  const usable = (r: BenchRow | undefined) => r?.status === 'ok' && r.agrees !== false && r.medianMs ? r.medianMs : undefined;
  for (const r of rows) {
    if (r.engine !== FALLBACK) continue;
    const peer = rows.find((x) => x.engine === FALLBACK_PEER && x.model === r.model && x.res === r.res && x.batch === r.batch);
    const [ours, theirs] = [usable(r), usable(peer)];
    if (ours && theirs) out[fallbackKey(r.model, r.res, r.batch)] = ours / theirs;
  }
  return out;
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

/** Where the peers page finds each runtime's wasm files (the roots below). */
export const PEER_ASSETS = { ortAssets: '/ort/', tfjsWasmAssets: '/tfjs-wasm/', litertAssets: '/litert/' } as const;

/** The page bundles and every runtime's wasm folder, straight from node_modules (no network). */
export const PEER_ROOTS = (): Record<string, string> => ({ '': BROWSER_DIST, ort: ORT_DIST, 'tfjs-wasm': TFJS_WASM_DIST, litert: LITERT_DIST });

/**
 * What the bench server serves: the page bundles, the peers' wasm folders, each model file's folder under
 * its own prefix (TF.js fetches its shards next to model.json), and the inputs made on request.
 */
class Served {
  readonly roots: Record<string, string> = PEER_ROOTS();
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

  inputUrl(kind: InputKind, res: number, batch: number): string {
    return `/input/${kind}-${res}-${batch}.f32`;
  }

  async input(path: string, photos: Photos): Promise<Uint8Array | undefined> {
    const m = /^\/input\/(NCHW|NHWCnorm|NHWC)-(\d+)-(\d+)\.f32$/.exec(path);
    if (!m) return undefined;
    let bytes = this.inputs.get(path);
    if (!bytes) {
      const [res, batch] = [Number(m[2]), Number(m[3])];
      const nhwc = photoBatchNhwc(photos, batch, res);
      const data = m[1] === 'NHWC' ? nhwc : m[1] === 'NHWCnorm' ? torchvisionNhwc(nhwc) : torchvisionNchw(nhwc, batch, res);
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      this.inputs.set(path, bytes);
    }
    return bytes;
  }
}

/** One engine run once on a fresh page (open, one inference, output, close): what the writers' tests compare. */
export async function runOnce(session: ChromeSession, spec: OpenSpec): Promise<{ output: Float32Array; detail: string }> {
  return withPeersPage(session, async (page) => {
    try {
      const { detail } = await page.evaluate((s) => (globalThis as unknown as PeersGlobal).effnetPeers.open(s), spec);
      await page.evaluate(() => (globalThis as unknown as PeersGlobal).effnetPeers.infer());
      const output = Float32Array.from(await page.evaluate(() => (globalThis as unknown as PeersGlobal).effnetPeers.output()));
      return { output, detail };
    } finally {
      await page.evaluate(() => (globalThis as unknown as PeersGlobal).effnetPeers.close()).catch(() => undefined);
    }
  });
}
