import type { CaseTag, KernelCase } from './case.js';
import type { KernelLibrary } from '../../src/kernels/library.js';
import { kernelEntry } from '../../src/kernels/registry.js';
import type { LaunchTarget } from '../../src/kernels/launch.js';
import { packPointwise, pointwiseLaunch, type PointwiseShape } from '../../src/kernels/pointwise.js';
import { distinctLayerShapes } from '../../src/model/layers.js';
import { getArch } from '../../src/model/tables.js';
import { compare, type Comparison } from '../../src/reference/compare.js';
import { dispatchOnce } from '../support/dispatch.js';
import { fromNHWC4, pad4, paddingValues, randomF32, rng, toNHWC4 } from '../support/tensor.js';
import { pointwiseRef } from '../../src/reference/pointwise.js';
import { TOL } from '../../src/reference/tolerances.js';

type PointwiseLaunch = ReturnType<typeof pointwiseLaunch>;

/** A hardware GPU's schedule (pointwise_tiled); it runs correctly, if slowly, on SwiftShader. */
const GPU: LaunchTarget = { isFallback: false };

const label = (s: PointwiseShape) =>
  `${s.N}x${s.H}x${s.W} ${s.inC}->${s.outC}${s.act === 'silu' ? ' silu' : ''}${s.seScale ? ' +se' : ''}${s.residual ? ' +res' : ''}`;

/** Seeded SE gates in (0, 1) like a sigmoid's, as [N, Cin4] vec4 with the padding lanes non-zero too. */
function gate(N: number, inC: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: N * pad4(inC) }, () => 0.05 + 0.9 * r());
}

/** The gate's real channels, dense [N, inC], for the reference. */
const denseGate = (g: Float32Array, N: number, inC: number) => fromNHWC4(g, N, 1, 1, inC);

/**
 * One pointwise conv on seeded data through `launch` (the planner's, or a variant of it), checked against
 * the float64 reference; the padding channels must come out exactly 0.
 */
async function runPointwise(lib: KernelLibrary, s: PointwiseShape, launch: PointwiseLaunch, seed: number, what: string): Promise<Comparison[]> {
  const HW = s.H * s.W;
  const pixels = s.N * HW;
  const x = randomF32(pixels * s.inC, seed, 2);
  // Weights scaled like a trained conv's (~1/sqrt(fan-in)) so outputs stay O(1) at every width.
  const weight = randomF32(s.outC * s.inC, seed + 1, 1 / Math.sqrt(s.inC));
  const bias = randomF32(s.outC, seed + 2, 0.5);
  const g = s.seScale ? gate(s.N, s.inC, seed + 3) : undefined;
  const res = s.residual ? randomF32(pixels * s.outC, seed + 4) : undefined;
  const { w, b } = packPointwise(weight, bias, s.inC, s.outC);
  // Bindings a fusion does not use get a small dummy buffer, as in the runtime.
  const dummy = new Float32Array(4);
  const out = await dispatchOnce(lib, {
    kernel: launch.kernel,
    overrides: launch.overrides,
    uniforms: launch.uniforms,
    buffers: {
      x: toNHWC4(x, s.N, s.H, s.W, s.inC),
      w,
      b,
      se: g ?? dummy,
      res: res ? toNHWC4(res, s.N, s.H, s.W, s.outC) : dummy,
      y: pixels * pad4(s.outC) * 4,
    },
    read: ['y'],
  });
  const want = pointwiseRef({ N: s.N, HW, inC: s.inC, outC: s.outC, act: s.act }, x, weight, bias, g && denseGate(g, s.N, s.inC), res);
  return [
    compare(fromNHWC4(out.y!, s.N, s.H, s.W, s.outC), want, TOL.conv, `pointwise ${label(s)} ${what}`),
    compare(paddingValues(out.y!, pixels, s.outC), new Array(pixels * (pad4(s.outC) - s.outC)).fill(0), TOL.exact, 'padding stays zero'),
  ];
}

/** The planner's launch with other overrides (a tile): the kernel must be right for every tile it may pick. */
function withTile(l: PointwiseLaunch, tile: Record<string, number>): PointwiseLaunch {
  const overrides = { ...l.overrides, ...tile } as PointwiseLaunch['overrides'];
  return { ...l, overrides, workgroups: kernelEntry(l.kernel).workgroups({ ...l.uniforms, ...overrides }) } as PointwiseLaunch;
}

const tileLabel = ({ kernel, overrides: o }: PointwiseLaunch) =>
  'WG_M' in o ? `${kernel} ${o.WG_M}x${o.WG_N} invocations, ${o.TM}x${o.TN} vec4 tile, KT ${o.KT}${o.KS! > 1 ? `, K split ${o.KS} ways` : ''}` : `tile ${o.TM}x${o.TN} wg${o.WG}`;

/** Every distinct 1×1 conv of the network: expansions, projections (SE-gated, with residual), head and classifier. */
const real = (arch: string): PointwiseShape[] =>
  distinctLayerShapes(getArch(arch)).flatMap((op): PointwiseShape[] => {
    if (op.kind === 'pwconv') return [{ N: 1, H: op.H, W: op.W, inC: op.inC, outC: op.outC, act: op.act, residual: op.residual, seScale: op.seScaled }];
    if (op.kind === 'head') return [{ N: 1, H: op.H, W: op.W, inC: op.inC, outC: op.outC, act: 'silu', residual: false, seScale: false }];
    if (op.kind === 'classifier') return [{ N: 1, H: 1, W: 1, inC: op.inC, outC: op.outC, act: 'none', residual: false, seScale: false }];
    return [];
  });

/** B0's and V2-S's shapes, each once (both classifiers are 1280→1000), tagged with every network that runs it. */
function realCases(): { shape: PointwiseShape; tags: CaseTag[] }[] {
  const byLabel = new Map<string, { shape: PointwiseShape; tags: CaseTag[] }>();
  for (const [arch, tag] of [['efficientnet_b0', 'b0'], ['efficientnet_v2_s', 'v2s']] as const) {
    for (const shape of real(arch)) {
      const seen = byLabel.get(label(shape));
      if (seen) seen.tags.push(tag);
      else byLabel.set(label(shape), { shape, tags: [tag] });
    }
  }
  return [...byLabel.values()];
}

const awkward = (shape: PointwiseShape, chrome = false) => ({ shape, tags: (chrome ? ['awkward', 'chrome'] : ['awkward']) as CaseTag[] });
const pw = (N: number, H: number, W: number, inC: number, outC: number, act: 'silu' | 'none', seScale: boolean, residual: boolean): PointwiseShape =>
  ({ N, H, W, inC, outC, act, seScale, residual });

const SHAPES = [
  ...realCases(),
  // Batch 3 with per-image gates, H·W = 35 not a multiple of any row tile: tiles straddle images.
  awkward(pw(3, 5, 7, 13, 13, 'none', true, true), true),
  awkward(pw(3, 3, 3, 6, 10, 'silu', true, false)),
  // One pixel per image with SE: a tile may hold a single row.
  awkward(pw(2, 1, 1, 13, 6, 'none', true, false)),
  awkward(pw(1, 11, 13, 10, 6, 'silu', false, false)),
  // The classifier at batch 3, and a wide odd-sized expansion.
  awkward(pw(3, 1, 1, 1280, 1000, 'none', false, false)),
  awkward(pw(2, 9, 9, 40, 250, 'silu', false, false)),
];

// B0's first expansion (112×112, 16→96, SiLU) and the classifier also run in Chromium.
SHAPES.find((c) => c.tags.includes('b0') && c.shape.H === 112 && c.shape.act === 'silu')!.tags.push('chrome');
SHAPES.find((c) => c.tags.includes('b0') && c.shape.H === 1)!.tags.push('chrome');

/**
 * Tiles the planner does not pick for these shapes — the full 16×8, odd sizes, 1×1 — with rows past M,
 * columns past N4 and (TM = 13, 16) tiles straddling two images' gates.
 */
const TILES = [[16, 8, 64], [13, 3, 16], [7, 5, 16], [1, 1, 64]].map(([TM, TN, WG]) => ({ TM: TM!, TN: TN!, WG: WG! }));
/**
 * GEMM tiles of pointwise_tiled beyond the planner's picks: the largest, deep and shallow K stages, wide and tall
 * workgroups; split K into 4 slices, into 3 (the tree's odd slice out) and 64 one-vec4 slices (K ends mid-stage
 * in every shape here, so some slices walk only zeros).
 */
const GEMM_TILES = [
  { WG_M: 16, WG_N: 4, TM: 4, TN: 4, KT: 4, KS: 1 },
  { WG_M: 8, WG_N: 8, TM: 2, TN: 2, KT: 8, KS: 1 },
  { WG_M: 4, WG_N: 16, TM: 1, TN: 4, KT: 2, KS: 1 },
  { WG_M: 32, WG_N: 8, TM: 1, TN: 1, KT: 8, KS: 1 },
  { WG_M: 4, WG_N: 4, TM: 1, TN: 1, KT: 8, KS: 4 },
  { WG_M: 2, WG_N: 8, TM: 1, TN: 1, KT: 2, KS: 3 },
  { WG_M: 1, WG_N: 2, TM: 1, TN: 1, KT: 1, KS: 64 },
];
// The wide one at 2×3×5 pixels: a tile of 1 row and 64 K slices makes 64 workgroups per (row, column block).
const TILE_SHAPES = [pw(3, 5, 7, 13, 13, 'none', true, true), pw(2, 3, 5, 40, 250, 'silu', false, false)];

export const pointwiseCases: KernelCase[] = [
  ...SHAPES.map(({ shape, tags }, i): KernelCase => ({
    name: `pointwise ${label(shape)}`,
    kernel: 'pointwise',
    tags,
    run: (lib) => {
      const launch = pointwiseLaunch(shape);
      return runPointwise(lib, shape, launch, 300 + 11 * i, tileLabel(launch));
    },
  })),
  ...TILE_SHAPES.map((shape, i): KernelCase => ({
    name: `pointwise ${label(shape)} other tiles`,
    kernel: 'pointwise',
    tags: i === 0 ? ['awkward', 'chrome'] : ['awkward'],
    async run(lib) {
      const out: Comparison[] = [];
      for (const tile of TILES) {
        const launch = withTile(pointwiseLaunch(shape), tile);
        out.push(...(await runPointwise(lib, shape, launch, 700 + i, tileLabel(launch))));
      }
      return out;
    },
  })),
  // The hardware-GPU target on every shape: pointwise_tiled with the GEMM tile the planner picks for that shape, run
  // over the shape's channels on 2 images of BM + 1 pixels (BM: the tile's rows) — the last row tile ragged and one
  // straddling both images' gates. SwiftShader's cost grows with the workgroups (B0's 48×48 64→256 layer: 4608 of them,
  // 6.5 s; this: 15 ms), and the rows past three tiles repeat the same path; the SwiftShader target above runs every
  // shape whole.
  ...SHAPES.map(({ shape, tags }, i): KernelCase => ({
    name: `pointwise ${label(shape)} (GPU target)`,
    kernel: 'pointwise_tiled',
    tags,
    run: (lib) => {
      const planned = pointwiseLaunch(shape, GPU);
      const o = planned.overrides;
      const BM = 'WG_M' in o ? o.WG_M! * o.TM! : o.TM!;
      const rows = shape.N * shape.H * shape.W;
      const small: PointwiseShape = rows <= 2 * BM + 2 ? shape : { ...shape, N: 2, H: 1, W: BM + 1 };
      const launch = withTile(pointwiseLaunch(small, GPU), o as Record<string, number>);
      if (launch.kernel !== planned.kernel) throw new Error(`${label(small)} plans ${launch.kernel}, ${label(shape)} ${planned.kernel}`);
      return runPointwise(lib, small, launch, 1300 + 11 * i, `${tileLabel(launch)}, planned for ${label(shape)}`);
    },
  })),
  ...TILE_SHAPES.map((shape, i): KernelCase => ({
    name: `pointwise ${label(shape)} other GEMM tiles (GPU target)`,
    kernel: 'pointwise_tiled',
    tags: i === 0 ? ['awkward', 'chrome'] : ['awkward'],
    async run(lib) {
      const out: Comparison[] = [];
      for (const tile of GEMM_TILES) {
        const launch = withTile(pointwiseLaunch(shape, GPU), tile);
        out.push(...(await runPointwise(lib, shape, launch, 1700 + i, tileLabel(launch))));
      }
      return out;
    },
  })),
];
