/**
 * Kernel microbenchmark (llm.c dev/cuda style): every distinct kernel launch of B0 @224 and V2-S @384,
 * as the runtime schedules it, timed alone — ms, achieved GFLOP/s and GB/s per shape — plus what the
 * fusions save on the SE path and the residual path. Runs in Node (Dawn) and in a browser alike.
 */
import { loadModel } from '../src/api.js';
import { createBuffer } from '../src/buffers.js';
import type { Gpu } from '../src/gpu.js';
import { elementwiseOp } from '../src/kernels/elementwise.js';
import { launchOf, type Dispatch, type Launch } from '../src/kernels/launch.js';
import { KernelLibrary } from '../src/kernels/library.js';
import { instrument, type OpView } from '../src/runtime/instrument.js';
import { repsFor, timeDispatches } from '../src/runtime/timing.js';
import { pointwiseLaunch } from '../src/kernels/pointwise.js';
import { dwconvLaunch } from '../src/kernels/dwconv.js';
import { seExciteLaunch } from '../src/kernels/se.js';
import { poolLaunch } from '../src/kernels/pool.js';
import { getArch } from '../src/model/tables.js';

export interface KernelRow {
  arch: string;
  op: string;
  kernel: string;
  shape: string;
  /** Layers of the network with this exact launch. */
  count: number;
  ms: number;
  gflops: number;
  gbps: number;
}

export interface FusionRow {
  path: string;
  shape: string;
  fusedMs: number;
  unfusedMs: number;
  saving: number;
}

/**
 * Median wall time (submit until done) of `reps` back-to-back runs of `dispatches`, per run, after one warm-up.
 * Wall time even where timestamps exist: this benchmark's rows have always been wall times, and stay comparable.
 */
async function timeLaunch(device: GPUDevice, dispatches: readonly Dispatch[], runs: number, reps: number): Promise<number> {
  return (await timeDispatches(device, false, [dispatches], { runs, reps, warmup: 1, label: 'bench-kernels' }))[0]!;
}

function shapeOf(op: OpView): string {
  return Object.entries(op.uniforms)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

export async function benchKernels(
  gpu: Gpu,
  opts: { archs?: string[]; runs?: number; log?: (s: string) => void } = {},
): Promise<{ kernels: KernelRow[]; fusion: FusionRow[] }> {
  const runs = opts.runs ?? 5;
  const rows: KernelRow[] = [];
  const fusion: FusionRow[] = [];
  for (const arch of opts.archs ?? ['efficientnet_b0', 'efficientnet_v2_s']) {
    // The tuned schedule of random weights at the model's own resolution: the launches a real run records.
    const model = await loadModel({ arch: getArch(arch), weights: 'random', device: gpu, quickStart: false });
    try {
      const res = model.spec.resolution;
      const schedule = await instrument(model, { batch: 1, height: res, width: res });
      // The model is disposed below, which frees the schedule: the pin needs no release before that.
      const distinct = new Map<string, { op: OpView; count: number }>();
      for (const pass of schedule.passes) {
        for (const op of pass.ops) {
          const key = `${op.kernel} ${JSON.stringify(op.overrides)} ${shapeOf(op)}`;
          const d = distinct.get(key);
          if (d) d.count++;
          else distinct.set(key, { op, count: 1 });
        }
      }
      for (const { op, count } of distinct.values()) {
        // Enough repetitions that a launch takes ≥ ~20 ms of GPU time, so timer and submit overhead vanish.
        const probe = await timeLaunch(gpu.device, [op.dispatch], 1, 1);
        const reps = repsFor(probe, 20, 0.01, 50);
        const ms = await timeLaunch(gpu.device, [op.dispatch], runs, reps);
        const row: KernelRow = { arch, op: op.name, kernel: op.kernel, shape: shapeOf(op), count, ms, gflops: op.flops / ms / 1e6, gbps: op.bytes / ms / 1e6 };
        rows.push(row);
        opts.log?.(`${arch} ${row.kernel.padEnd(10)} ${row.ms.toFixed(3).padStart(8)} ms ${row.gflops.toFixed(2).padStart(7)} GFLOP/s ${row.gbps.toFixed(2).padStart(7)} GB/s  ${row.op}`);
      }
    } finally {
      model.dispose();
    }
  }
  fusion.push(...(await benchFusions(gpu, runs, opts.log)));
  return { kernels: rows, fusion };
}

/**
 * Fused vs unfused on real B0 shapes. SE path (features.2.1: 56×56×144, SE 6): dwconv emitting the squeeze
 * partials + excite + projection reading x·s, against dwconv + separate pool + excite + a channel-scale
 * pass that writes the scaled tensor + plain projection. Residual path (features.2.1 projection 144→24):
 * projection with the add in its epilogue, against projection + standalone add.
 */
async function benchFusions(gpu: Gpu, runs: number, log?: (s: string) => void): Promise<FusionRow[]> {
  const { device } = gpu;
  const lib = new KernelLibrary(device);
  const H = 56, W = 56, C = 144, seC = 6, outC = 24;
  const c4 = (c: number) => Math.ceil(c / 4);
  const made: GPUBuffer[] = [];
  const buf = (floats: number) => {
    const b = createBuffer(device, { label: 'fusion-bench', bytes: floats * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    made.push(b);
    return b;
  };
  const op = async (l: Launch, res: Record<string, GPUBuffer>): Promise<Dispatch> => {
    const params = lib.uniformBuffer(l.kernel, l.uniforms);
    made.push(params);
    const pipeline = await lib.pipeline(l.kernel, l.overrides);
    return { pipeline, bindGroup: lib.bindGroup(l.kernel, { ...res, params }), grid: lib.grid(l.workgroups) };
  };
  try {
    const x = buf(H * W * c4(C) * 4), d = buf(H * W * c4(C) * 4), scaled = buf(H * W * c4(C) * 4);
    const dw = { w: buf(9 * c4(C) * 4), b: buf(c4(C) * 4) };
    const se = { w1: buf(seC * c4(C) * 4), b1: buf(seC), w2: buf(seC * c4(C) * 4), b2: buf(c4(C) * 4) };
    const pw = { w: buf(c4(C) * c4(outC) * 16), b: buf(c4(outC) * 4) };
    const y = buf(H * W * c4(outC) * 4), y2 = buf(H * W * c4(outC) * 4), res = buf(H * W * c4(outC) * 4), gate = buf(c4(C) * 4);
    const dummy = buf(4);
    const fusedDw = dwconvLaunch({ N: 1, C, H, W, k: 3, s: 1, padding: 'symmetric', squeeze: true });
    const part = buf(fusedDw.partSlots * c4(C) * 4);
    const pooled = buf(c4(C) * 4);
    const fused = [
      await op(fusedDw, { x, w: dw.w, b: dw.b, y: d, part }),
      await op(seExciteLaunch({ N: 1, C, seC, H, W, partSlots: fusedDw.partSlots }), { part, ...se, se: gate }),
      await op(pointwiseLaunch({ N: 1, H, W, inC: C, outC, act: 'none', residual: false, seScale: true }), { x: d, ...pw, se: gate, res: dummy, y }),
    ];
    const unfused = [
      await op(dwconvLaunch({ N: 1, C, H, W, k: 3, s: 1, padding: 'symmetric', squeeze: false }), { x, w: dw.w, b: dw.b, y: d, part: dummy }),
      await op(poolLaunch({ N: 1, C, H, W }), { x: d, y: pooled }),
      await op(seExciteLaunch({ N: 1, C, seC, H: 1, W: 1, partSlots: 1 }), { part: pooled, ...se, se: gate }),
      await op(launchOf('elementwise', { count: H * W * c4(C), C4: c4(C), HW: H * W }, { OP: elementwiseOp('scale') }), { x: d, other: gate, y: scaled }),
      await op(pointwiseLaunch({ N: 1, H, W, inC: C, outC, act: 'none', residual: false, seScale: false }), { x: scaled, ...pw, se: dummy, res: dummy, y }),
    ];
    const resFused = [await op(pointwiseLaunch({ N: 1, H, W, inC: C, outC, act: 'none', residual: true, seScale: false }), { x: d, ...pw, se: dummy, res, y })];
    const count = H * W * c4(outC);
    const resUnfused = [
      await op(pointwiseLaunch({ N: 1, H, W, inC: C, outC, act: 'none', residual: false, seScale: false }), { x: d, ...pw, se: dummy, res: dummy, y: y2 }),
      await op(launchOf('elementwise', { count, C4: 0, HW: 0 }, { OP: elementwiseOp('add') }), { x: y2, other: res, y }),
    ];
    const rows: FusionRow[] = [];
    for (const [path, a, b] of [['SE (squeeze in dwconv, scale in projection prologue)', fused, unfused], ['residual add in projection epilogue', resFused, resUnfused]] as const) {
      const fusedMs = await timeLaunch(device, a, runs, 5);
      const unfusedMs = await timeLaunch(device, b, runs, 5);
      const row = { path, shape: `${H}×${W}×${C}→${outC}`, fusedMs, unfusedMs, saving: 1 - fusedMs / unfusedMs };
      rows.push(row);
      log?.(`fusion: ${path}: fused ${fusedMs.toFixed(3)} ms vs unfused ${unfusedMs.toFixed(3)} ms (${(row.saving * 100).toFixed(1)}% saved)`);
    }
    return rows;
  } finally {
    for (const b of made) b.destroy();
  }
}
