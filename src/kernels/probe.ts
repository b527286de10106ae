/**
 * A small known-answer launch for a compiled kernel variant: the same kernel and overrides (so the very same
 * pipeline runs), with uniforms shrunk to a shape whose float64 reference is cheap, yet one that still takes
 * every path the variant has — a ragged last tile or strip, a row block cut short, a tile that straddles two
 * images (batch 2), several K stages, the padding rule and stride of the launch it stands for. The on-device
 * self-test (src/runtime/self-test.ts) runs one per variant before a schedule is used.
 */
import { convGeometry } from '../model/geometry.js';
import { paddingOf } from './cases.js';
import type { Launch } from './launch.js';
import { kernelEntry } from './registry.js';
import { denseStrides } from './stem.js';

/** Images in every probe: tiles and reductions that cross an image boundary get checked. */
const N = 2;

/** The smallest input size that gives `out` outputs for a k×k stride-s conv under this padding rule. */
function inputFor(out: number, k: number, s: number, padding: 'symmetric' | 'same'): number {
  for (let size = 1; ; size++) if (convGeometry(size, k, s, padding).out >= out) return size;
}

/** The probe of `l`, or undefined for a kernel no schedule runs (its own kernel cases test it). */
export function probeLaunch(l: Launch): Launch | undefined {
  const u = l.uniforms as Record<string, number>;
  const o = l.overrides;
  let uniforms: Record<string, number | readonly number[]>;
  switch (l.kernel) {
    case 'pointwise':
    case 'pointwise_tiled': {
      const tiled = l.kernel === 'pointwise_tiled';
      const BM = tiled ? o.WG_M! * o.TM! : o.TM!;
      const BN = tiled ? o.WG_N! * o.TN! : o.TN!;
      // One row past a tile per image: the last tile is ragged and, with SE, spans both images' gates.
      const HW = BM + 1;
      uniforms = { M: N * HW, K4: Math.min(u.K4!, Math.max(3, (o.KT ?? 1) + 1)), N4: Math.min(u.N4!, BN + 1), HW };
      break;
    }
    case 'fused_conv':
    case 'fused_conv_tiled':
    case 'stem': {
      const stem = l.kernel === 'stem';
      const [k, s] = stem ? [3, 2] : [u.K!, u.stride!];
      const padding = paddingOf(u.H!, k, s, u.Ho!, u.padTop!);
      let Wo: number;
      let Ho: number;
      let Cout4: number;
      if (l.kernel === 'fused_conv_tiled') {
        Wo = Math.min(u.Wo!, 3);
        Ho = Math.ceil((o.WG_M! * o.TM! + 1) / (N * Wo));
        Cout4 = Math.min(u.Cout4!, o.WG_N! * o.TN! + 1);
      } else {
        // A row of TM + 1 pixels: one full register tile and a ragged one.
        Wo = Math.min(u.Wo!, o.TM! + 1);
        Ho = 2;
        // TN groups with a ragged last one, within what the tile's `Requires:` allows (the launch's own Cout4 does).
        const fits = (c: number) => Math.ceil(c / o.TN!) * o.TN! <= Math.ceil(c / 4) * 4;
        Cout4 = [Math.min(u.Cout4!, 2 * o.TN! + 1), u.Cout4!].find(fits)!;
      }
      const H = inputFor(Ho, k, s, padding);
      const W = inputFor(Wo, k, s, padding);
      const gh = convGeometry(H, k, s, padding);
      const gw = convGeometry(W, k, s, padding);
      const sizes = { N, H, W, Ho: gh.out, Wo: gw.out, Cout4, padTop: gh.padBefore, padLeft: gw.padBefore };
      if (stem) {
        // The launch's input layout (NHWC has unit channel stride) and its normalisation.
        const st = denseStrides(u.sC === 1 ? 'nhwc' : 'nchw', H, W);
        uniforms = { ...sizes, sN: st.n, sC: st.c, sH: st.h, sW: st.w, inScale: l.uniforms.inScale!, inShift: l.uniforms.inShift! };
      } else {
        uniforms = { ...sizes, Cin4: Math.min(u.Cin4!, 3), K: k, stride: s };
      }
      break;
    }
    case 'dwconv':
    case 'dwconv_compact': {
      const compact = l.kernel === 'dwconv_compact';
      const [k, s, TW] = compact ? [u.K!, u.S!, u.TW!] : [o.K!, o.S!, o.TW!];
      const padding = paddingOf(u.H!, k, s, u.Ho!, u.padTop!);
      const rows = Math.min(u.rows!, 3);
      // A row block cut short and a ragged last strip, where the launch's own map is that large.
      const H = inputFor(Math.min(u.Ho!, 2 * rows + 1), k, s, padding);
      const W = inputFor(Math.min(u.Wo!, 2 * TW + 1), k, s, padding);
      const gh = convGeometry(H, k, s, padding);
      const gw = convGeometry(W, k, s, padding);
      const C4 = Math.min(u.C4!, 3);
      const strips = Math.ceil(gw.out / TW);
      const rowBlocks = Math.ceil(gh.out / rows);
      uniforms = {
        H, W, C4, Ho: gh.out, Wo: gw.out, padTop: gh.padBefore, padLeft: gw.padBefore,
        strips, rows, rowBlocks, count: N * rowBlocks * strips * C4,
        ...(compact ? { K: k, S: s, TW, squeeze: u.squeeze! } : {}),
      };
      break;
    }
    case 'se_excite': {
      // More channel vec4s than invocations (the strided sums) where the launch has them, else the launch's own.
      const C4 = Math.min(u.C4!, o.WG! + 1);
      const P = Math.min(u.P!, 9);
      uniforms = { N, C: 4 * C4, C4, seC4: Math.min(u.seC4!, 5), P, HW: 3 * P };
      break;
    }
    case 'pool':
    case 'pool_subgroup': {
      const C4 = Math.min(u.C4!, 5);
      uniforms = { count: N * C4, C4, HW: Math.min(u.HW!, 2 * o.WG! + 3) };
      break;
    }
    case 'softmax': {
      const K = Math.min(u.K!, 37);
      uniforms = { N, K, K4: Math.ceil(K / 4) };
      break;
    }
    default:
      return undefined;
  }
  const numeric = Object.fromEntries(Object.entries(uniforms).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
  return { kernel: l.kernel, overrides: o, uniforms, workgroups: kernelEntry(l.kernel).workgroups({ ...numeric, ...o }) };
}
