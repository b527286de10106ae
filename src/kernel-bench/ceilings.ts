/**
 * The roofline's ceilings: this adapter's peak GFLOP/s (kernels/peak_fma.wgsl, independent FMA chains) and peak
 * GB/s (kernels/peak_copy.wgsl, a coalesced copy), each the best of a few timed runs of one dispatch sized to take
 * milliseconds. Measured once per adapter and build of the kernels: in memory, and in Node also in a file beside
 * the tuning cache (a file anyone could have written, so a bad one is re-measured over, never trusted or fatal).
 */
import { readAll } from '../io/read.js';
import { storageBuffer } from '../buffers.js';
import type { Gpu } from '../gpu.js';
import { isNode } from '../env.js';
import type { KernelLibrary } from '../kernels/library.js';
import type { Dispatch, Launch } from '../kernels/launch.js';
import { peakCopyLaunch, peakFmaLaunch } from '../kernels/peak.js';
import { dispatchSamples, repsFor, timerKind, type TimerKind } from '../runtime/timing.js';
import { adapterKey, engineStamp, tuningCachePath } from '../tuning/file.js';

export interface Ceilings {
  /** Best achieved over the probe's runs: what this adapter can do at all, under this engine's WGSL. */
  gflops: number;
  gbps: number;
  timer: TimerKind;
  /** When measured (ISO time), and whether this report read it from the cache. */
  measured: string;
  cached: boolean;
}

const CEILINGS_FORMAT = 'effnet-ceilings/1';
/** The cache file is a few hundred bytes per adapter; anything far larger is not ours. */
const CEILINGS_MAX_BYTES = 1 << 16;
/** Invocations of the FMA probe: enough to fill a large GPU (an H100 holds ~270k resident threads). */
const FMA_INVOCATIONS = 1 << 18;
/** The copy probe's buffer, where the device's binding limit allows: far past any cache. */
const COPY_BYTES = 64 << 20;
/** One timed sample aims at this long, so timer resolution and submit overhead stay small against it. */
const SAMPLE_MS = 10;
const RUNS = 3;

const remembered = new Map<string, Promise<Ceilings>>();

/**
 * This adapter's ceilings: remembered, read from Node's cache, or measured now (about a second on SwiftShader).
 * Rates a report achieved (`achieved`) above a remembered ceiling mean it was measured on a busy device: it is
 * measured again, and the higher of the two kept.
 */
export async function adapterCeilings(gpu: Gpu, lib: KernelLibrary, achieved: { gflops: number; gbps: number }): Promise<Ceilings> {
  const key = adapterKey(gpu.report);
  let c = remembered.get(key);
  if (!c) {
    c = cachedOrMeasured(key, gpu, lib);
    remembered.set(key, c);
    c.catch(() => remembered.delete(key));
  }
  const known = await c;
  if (known.gflops >= achieved.gflops && known.gbps >= achieved.gbps) return known;
  const again = await measureCeilings(gpu, lib);
  const best = { ...again, gflops: Math.max(again.gflops, known.gflops), gbps: Math.max(again.gbps, known.gbps) };
  remembered.set(key, Promise.resolve(best));
  await store(key, best);
  return best;
}

async function cachedOrMeasured(key: string, gpu: Gpu, lib: KernelLibrary): Promise<Ceilings> {
  if (!isNode) return measureCeilings(gpu, lib);
  const hit = (await readCache())[key];
  if (hit && hit.engine === (await engineStamp()) && hit.timer === timerKind(gpu.report.features.timestampQuery)) {
    return { gflops: hit.gflops, gbps: hit.gbps, timer: hit.timer, measured: hit.measured, cached: true };
  }
  const fresh = await measureCeilings(gpu, lib);
  await store(key, fresh);
  return fresh;
}

/** `c` as this adapter's entry of Node's cache (elsewhere: nothing to keep it in). */
async function store(key: string, c: Ceilings): Promise<void> {
  if (!isNode) return;
  const engine = await engineStamp();
  // A cache that cannot be written (read-only home, full disk) costs a re-measure next time, nothing more.
  const entry = { engine, gflops: c.gflops, gbps: c.gbps, timer: c.timer, measured: c.measured };
  await writeCache({ ...(await readCache()), [key]: entry }).catch(() => undefined);
}

type CacheEntry = Omit<Ceilings, 'cached'> & { engine: string };

const cachePath = async () => {
  const { dirname, join } = await import('node:path');
  return join(dirname(await tuningCachePath()), 'ceilings.json');
};

/** The cache's entries that check out; none when the file is missing, too large, or not ours. */
async function readCache(): Promise<Record<string, CacheEntry>> {
  const path = await cachePath();
  try {
    const json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await readAll(path, { what: 'ceilings cache', maxBytes: CEILINGS_MAX_BYTES }))) as unknown;
    if (!json || typeof json !== 'object' || (json as { format?: unknown }).format !== CEILINGS_FORMAT) return {};
    const entries = (json as { adapters?: unknown }).adapters;
    if (!entries || typeof entries !== 'object') return {};
    const out: Record<string, CacheEntry> = {};
    for (const [k, v] of Object.entries(entries as Record<string, unknown>)) {
      const e = v as Partial<CacheEntry> | null;
      const positive = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;
      if (e && positive(e.gflops) && positive(e.gbps) && typeof e.engine === 'string' && typeof e.measured === 'string' && (e.timer === 'timestamp-query' || e.timer === 'submit')) {
        out[k] = { engine: e.engine, gflops: e.gflops, gbps: e.gbps, timer: e.timer, measured: e.measured };
      }
    }
    return out;
  } catch {
    return {};
  }
}

async function writeCache(adapters: Record<string, CacheEntry>): Promise<void> {
  const path = await cachePath();
  const { mkdir, writeFile, rename } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ format: CEILINGS_FORMAT, adapters }, null, 1) + '\n');
  await rename(tmp, path);
}

/** Both probes on this device, now. */
export async function measureCeilings(gpu: Gpu, lib: KernelLibrary): Promise<Ceilings> {
  const { device } = gpu;
  const timed = gpu.report.features.timestampQuery;
  const made: GPUBuffer[] = [];
  const buffer = (bytes: number, label: string) => {
    const b = storageBuffer(device, bytes, label);
    made.push(b);
    return b;
  };
  const dispatch = async (l: Launch, x: GPUBuffer, y: GPUBuffer): Promise<Dispatch> => {
    const params = lib.uniformBuffer(l.kernel, l.uniforms, `${l.kernel}.params`);
    made.push(params);
    return { pipeline: await lib.pipeline(l.kernel, l.overrides), bindGroup: lib.bindGroup(l.kernel, { params, x, y }), grid: lib.grid(l.workgroups) };
  };
  /** Fastest ms per dispatch over RUNS samples, each repeating the dispatch to about SAMPLE_MS. */
  const best = async (d: Dispatch): Promise<number> => {
    const [[once]] = (await dispatchSamples(device, timed, [[d]], { runs: 1, reps: 1, warmup: 1, label: 'ceilings' })) as [[number]];
    const reps = repsFor(once, SAMPLE_MS, 1e-3, 1000);
    const [samples] = await dispatchSamples(device, timed, [[d]], { runs: RUNS, reps, label: 'ceilings' });
    return Math.min(...samples!);
  };
  try {
    const fmaX = buffer(FMA_INVOCATIONS * 16, 'ceilings.fma.x');
    const fmaY = buffer(FMA_INVOCATIONS * 16, 'ceilings.fma.y');
    // A short run first; then as many rounds as make one dispatch last about SAMPLE_MS (at least the first's).
    const shortRun = peakFmaLaunch(FMA_INVOCATIONS, 16);
    const shortMs = await best(await dispatch(shortRun, fmaX, fmaY));
    const iters = Math.max(16, Math.min(1 << 14, Math.round((16 * SAMPLE_MS) / Math.max(shortMs, 1e-3))));
    const fma = iters === 16 ? shortRun : peakFmaLaunch(FMA_INVOCATIONS, iters);
    const fmaMs = iters === 16 ? shortMs : await best(await dispatch(fma, fmaX, fmaY));

    const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    const copyBytes = Math.min(COPY_BYTES, Math.floor(limit / 16) * 16);
    const copy = peakCopyLaunch(copyBytes / 16);
    const copyMs = await best(await dispatch(copy, buffer(copyBytes, 'ceilings.copy.x'), buffer(copyBytes, 'ceilings.copy.y')));
    return { gflops: fma.flops / fmaMs / 1e6, gbps: copy.bytes / copyMs / 1e6, timer: timerKind(timed), measured: new Date().toISOString(), cached: false };
  } finally {
    for (const b of made) b.destroy();
  }
}
