/**
 * 1×1 convolution as a register-tiled GEMM with the SE gate, bias, SiLU and residual fused
 * (kernels/pointwise.wgsl): weight packing from torchvision layouts and the launch planner. The same
 * kernel runs the MBConv expansions and projections, the head conv and the classifier (H = W = 1).
 */
import { EffnetError } from '../errors.js';
import { FALLBACK_TARGET, type LaunchTarget, launchOf } from './launch.js';
import { asRead, num, random } from './cases.js';
import { gemmSearch, gemmTile } from './gemm_tiles.js';
import { PROBE_IMAGES, type KernelOp } from './op.js';
import { pointwiseRef } from '../reference/pointwise.js';
import { TOL } from '../reference/tolerances.js';

export interface PointwiseShape {
  N: number;
  H: number;
  W: number;
  inC: number;
  outC: number;
  act: 'silu' | 'none';
  /** Add the block input ([N, H, W, outC], like the output) after the activation. */
  residual: boolean;
  /** Multiply the input by the per-(image, channel) SE gate `se` [N, Cin4] on the fly. */
  seScale: boolean;
}

/**
 * Cost model of one invocation on SwiftShader, in units of one 4×4 weight block times an x vec4 (16
 * multiply-adds), fitted to timings of every B0 and V2-S shape over nine tiles (2 cores). SwiftShader
 * gathers each loaded scalar lane by lane, so a loaded vec4 costs nearly twice the 16 multiply-adds it
 * feeds; the epilogue (SiLU and residual each add a term) is per output vec4, the setup per invocation.
 * The tiles it picks are large for a real GPU's registers; SwiftShader is the target that needs them.
 */
const LOAD = 1.8;
const OUT = 2.3;
const SETUP = 160;
/** CPU threads sharing the workgroups. */
const THREADS = 2;
const MAX_TM = 16;
const MAX_TN = 8;
/**
 * SwiftShader hands whole workgroups to its threads: small ones keep both cores busy on late-stage
 * layers that have few tiles, and cost nothing measurable on the large ones.
 */
const WG = 16;

export interface Tile {
  TM: number;
  TN: number;
}

function estimate(s: Pick<PointwiseShape, 'act' | 'residual' | 'seScale'>, t: Tile, M: number, K4: number, N4: number): number {
  const epilogue = 1 + (s.act === 'silu' ? 1 : 0) + (s.residual ? 1 : 0);
  const perInvocation =
    K4 * (LOAD * (t.TM + 4 * t.TN + (s.seScale ? 2 : 0)) + t.TM * t.TN) + OUT * epilogue * t.TM * t.TN + SETUP;
  const groups = Math.ceil((Math.ceil(M / t.TM) * Math.ceil(N4 / t.TN)) / WG);
  // The busiest thread's share of whole workgroups: with few of them a core idles.
  return Math.ceil(groups / THREADS) * WG * perInvocation;
}

/**
 * Every tile the kernel can run for this shape, cheapest estimate first (ties keep the smaller tile, which
 * compiles faster). Any TM ≤ 16 and TN ≤ 8 is one code path (the unused rows and columns are dead code), so
 * tiles that divide M and N4 exactly win over padded ones by the model alone. With the SE prologue TM ≤ H·W
 * keeps every tile within two images (the kernel's gate selection). The planner takes the first; on-device
 * tuning (src/tuning/measure.ts) times the first few.
 */
export function rankPointwiseTiles(s: Pick<PointwiseShape, 'act' | 'residual' | 'seScale'> & { HW: number }, M: number, K4: number, N4: number): Tile[] {
  const tiles: { tile: Tile; cost: number }[] = [];
  const maxTM = Math.min(MAX_TM, s.seScale ? s.HW : MAX_TM);
  for (let TM = 1; TM <= maxTM; TM++) {
    for (let TN = 1; TN <= Math.min(MAX_TN, N4); TN++) tiles.push({ tile: { TM, TN }, cost: estimate(s, { TM, TN }, M, K4, N4) });
  }
  return tiles.sort((a, b) => a.cost - b.cost).map((t) => t.tile);
}

/** The quick tier's tile: among the cheapest to compile (about a fifth of 16 × 8) and still vec4-wide. */
const QUICK_TILE: Tile = { TM: 4, TN: 2 };

/**
 * On SwiftShader the register-tiled `pointwise` with the cost model's tile (quick tier: a small one); on a
 * hardware GPU `pointwise_tiled`, a workgroup-memory GEMM with the tile rule of gemm_tiles.ts.
 */
export function pointwiseLaunch(shape: PointwiseShape, target: LaunchTarget = FALLBACK_TARGET) {
  const { N, H, W, inC, outC } = shape;
  for (const [k, v] of Object.entries({ N, H, W, inC, outC })) {
    if (!Number.isInteger(v) || v <= 0) throw new EffnetError('MODEL_SPEC', `pointwise: ${k} must be a positive integer, got ${v}`);
  }
  const uniforms = { M: N * H * W, K4: Math.ceil(inC / 4), N4: Math.ceil(outC / 4), HW: H * W };
  const fusions = { ACT: shape.act === 'silu' ? 1 : 0, SE_SCALE: shape.seScale ? 1 : 0, HAS_RES: shape.residual ? 1 : 0 };
  if (!target.isFallback) {
    const overrides = { ...gemmTile(uniforms.M, uniforms.N4, uniforms.K4), ...fusions };
    return launchOf('pointwise_tiled', uniforms, overrides);
  }
  const tile =
    target.tier === 'quick'
      ? { TM: Math.min(QUICK_TILE.TM, shape.seScale ? H * W : QUICK_TILE.TM), TN: Math.min(QUICK_TILE.TN, uniforms.N4) }
      : rankPointwiseTiles({ ...shape, HW: H * W }, uniforms.M, uniforms.K4, uniforms.N4)[0]!;
  const overrides = { ...tile, WG, ...fusions };
  return launchOf('pointwise', uniforms, overrides);
}

/**
 * torchvision conv weight [outC, inC, 1, 1] (or Linear [outC, inC]) and bias [outC], BatchNorm already
 * folded, → w as [K4][N4] column-major 4×4 blocks (block (k4, j4), column i = input channel 4·k4 + i,
 * row r = output channel 4·j4 + r) and b [N4] vec4, zero outside the real channels.
 */
export function packPointwise(weight: Float32Array, bias: Float32Array, inC: number, outC: number): { w: Float32Array; b: Float32Array } {
  if (weight.length !== outC * inC || bias.length !== outC) {
    throw new EffnetError('WEIGHTS', `pointwise: expected weight [${outC},${inC},1,1] and bias [${outC}], got ${weight.length} and ${bias.length} values`);
  }
  const K4 = Math.ceil(inC / 4);
  const N4 = Math.ceil(outC / 4);
  const w = new Float32Array(K4 * N4 * 16);
  for (let co = 0; co < outC; co++) {
    for (let ci = 0; ci < inC; ci++) w[((ci >> 2) * N4 + (co >> 2)) * 16 + (ci & 3) * 4 + (co & 3)] = weight[co * inC + ci]!;
  }
  const b = new Float32Array(N4 * 4);
  b.set(bias);
  return { w, b };
}

/** The 1×1 conv op: `pointwise` (register tiles), and `pointwise_tiled` (a GPU's workgroup-memory GEMM). */
export const pointwiseOp: KernelOp = {
  name: 'pointwise',
  kernels: ['pointwise', 'pointwise_tiled'],
  benchable: true,
  case(_kernel, u, o, seed) {
    const [M, K4, N4, HW] = ['M', 'K4', 'N4', 'HW'].map((k) => num(u, k)) as [number, number, number, number];
    const [N, inC, outC] = [M / HW, 4 * K4, 4 * N4];
    const x = random(M * inC, seed, -2, 2);
    const weight = random(outC * inC, seed + 1, -1 / Math.sqrt(inC), 1 / Math.sqrt(inC));
    const bias = random(outC, seed + 2, -0.5, 0.5);
    const gate = o.SE_SCALE ? random(N * inC, seed + 3, 0, 1) : undefined;
    const res = o.HAS_RES ? random(M * outC, seed + 4, -1, 1) : undefined;
    const want = pointwiseRef({ N, HW, inC, outC, act: o.ACT === 1 ? 'silu' : 'none' }, x, weight, bias, gate, res);
    const { w, b } = packPointwise(weight, bias, inC, outC);
    return {
      buffers: { x, w, b, se: gate ?? 16, res: res ?? 16, y: M * outC * 4 },
      outputs: [{ label: 'y', binding: 'y', got: asRead(), want, tol: TOL.conv }],
    };
  },
  probe(l) {
    const u = l.uniforms as Record<string, number>;
    const o = l.overrides;
    const tiled = l.kernel === 'pointwise_tiled';
    const BM = tiled ? o.WG_M! * o.TM! : o.TM!;
    const BN = tiled ? o.WG_N! * o.TN! : o.TN!;
    // One row past a tile per image: the last tile is ragged and, with SE, spans both images' gates.
    const HW = BM + 1;
    // K one vec4 past a stage (every slice's share of it, with split K): the last stage is ragged.
    return { M: PROBE_IMAGES * HW, K4: Math.min(u.K4!, Math.max(3, (o.KT ?? 1) * (o.KS ?? 1) + 1)), N4: Math.min(u.N4!, BN + 1), HW };
  },
  plain: (l) => launchOf('pointwise', l.uniforms, { TM: 1, TN: 1, WG: 64, ACT: l.overrides.ACT!, SE_SCALE: l.overrides.SE_SCALE!, HAS_RES: l.overrides.HAS_RES! }),
  // SwiftShader's register tiles: the cost model's next best; a GPU's GEMM tiles: a spread of sizes.
  candidates(l, max) {
    const u = l.uniforms as Record<string, number>;
    const o = l.overrides;
    if (l.kernel === 'pointwise_tiled') return gemmSearch(u.M!, u.N4!, u.K4!, max).map((t) => ({ ...t }));
    const ranked = rankPointwiseTiles({ act: o.ACT === 1 ? 'silu' : 'none', residual: o.HAS_RES === 1, seScale: o.SE_SCALE === 1, HW: u.HW! }, u.M!, u.K4!, u.N4!);
    return ranked.map((t) => ({ ...t, WG: o.WG! }));
  },
};
