/**
 * float64 reference of the classification front end: crop, resize, normalise one RGBA8 image. Written from
 * the definitions of the resamplers (tf.image.resizeBilinear, PyTorch's bilinear / bicubic, and PyTorch's and
 * PIL's antialiased resampling), as separable per-axis weight lists: out = Σ_i Σ_j wy_i · wx_j · pixel(i, j).
 */

export interface PreprocessRefSpec {
  width: number;
  height: number;
  /** RGBA8, row-major. */
  rgba: Uint8Array;
  crop: { x: number; y: number; width: number; height: number };
  outH: number;
  outW: number;
  mode: 'tf-bilinear' | 'bilinear' | 'bicubic';
  antialias: boolean;
  /** Filter taps may read: 'crop' every pixel the crop touches, 'image' the whole image. */
  edge: 'crop' | 'image';
  mean: readonly number[];
  std: readonly number[];
}

interface Taps {
  index: number[];
  weight: number[];
}

/** Keys' cubic convolution kernel with parameter a. */
function keys(d: number, a: number): number {
  const x = Math.abs(d);
  if (x <= 1) return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1;
  if (x < 2) return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a;
  return 0;
}

/**
 * The taps of one axis for every output coordinate. `start`/`length`: the crop along this axis; [lo, hi]:
 * the pixels the filter may read.
 */
function axisTaps(spec: PreprocessRefSpec, out: number, start: number, length: number, lo: number, hi: number): Taps[] {
  const scale = length / out;
  const clamp = (i: number) => Math.min(hi, Math.max(lo, i));
  const taps: Taps[] = [];
  for (let o = 0; o < out; o++) {
    if (spec.antialias) {
      // The filter stretched by the downscale factor around the output pixel's centre, over every readable
      // pixel, normalised to sum 1 (pixels outside the window simply do not contribute).
      const stretch = Math.max(scale, 1);
      const centre = start + (o + 0.5) * scale;
      const t: Taps = { index: [], weight: [] };
      let sum = 0;
      for (let j = lo; j <= hi; j++) {
        const d = (j + 0.5 - centre) / stretch;
        const w = spec.mode === 'bilinear' ? Math.max(0, 1 - Math.abs(d)) : keys(d, -0.5);
        if (w !== 0) {
          t.index.push(j);
          t.weight.push(w);
          sum += w;
        }
      }
      t.weight = t.weight.map((w) => w / sum);
      taps.push(t);
      continue;
    }
    // Source position of the output sample: TF's corner-aligned mapping, or the half-pixel one.
    const s = spec.mode === 'tf-bilinear' ? start + o * scale : start + (o + 0.5) * scale - 0.5;
    const i0 = Math.floor(s);
    const f = s - i0;
    if (spec.mode === 'bicubic') {
      taps.push({ index: [-1, 0, 1, 2].map((k) => clamp(i0 + k)), weight: [-1, 0, 1, 2].map((k) => keys(k - f, -0.75)) });
    } else {
      taps.push({ index: [clamp(i0), clamp(i0 + 1)], weight: [1 - f, f] });
    }
  }
  return taps;
}

/** Dense [outH, outW, 3]: (resampled / 255 − mean[c]) / std[c]. */
export function preprocessRef(spec: PreprocessRefSpec): Float64Array {
  const { crop, width: W, outH, outW } = spec;
  const [loX, hiX, loY, hiY] = spec.edge === 'crop'
    ? [Math.floor(crop.x), Math.ceil(crop.x + crop.width) - 1, Math.floor(crop.y), Math.ceil(crop.y + crop.height) - 1]
    : [0, W - 1, 0, spec.height - 1];
  const tx = axisTaps(spec, outW, crop.x, crop.width, loX, hiX);
  const ty = axisTaps(spec, outH, crop.y, crop.height, loY, hiY);
  // Separable: each source row the vertical taps read is resampled horizontally once, then the rows are mixed
  // (the same sums as Σ_a Σ_b wy_a · wx_b · pixel, and a photo's many rows cost one pass each, not one per output).
  const rows = new Map<number, Float64Array>();
  for (const r of ty) {
    for (const i of r.index) {
      if (rows.has(i)) continue;
      const row = new Float64Array(outW * 3);
      for (let ox = 0; ox < outW; ox++) {
        const rx = tx[ox]!;
        for (let c = 0; c < 3; c++) {
          let acc = 0;
          for (let b = 0; b < rx.index.length; b++) acc += rx.weight[b]! * spec.rgba[(i * W + rx.index[b]!) * 4 + c]!;
          row[ox * 3 + c] = acc;
        }
      }
      rows.set(i, row);
    }
  }
  const y = new Float64Array(outH * outW * 3);
  for (let oy = 0; oy < outH; oy++) {
    const ry = ty[oy]!;
    for (let k = 0; k < outW * 3; k++) {
      let acc = 0;
      for (let a = 0; a < ry.index.length; a++) acc += ry.weight[a]! * rows.get(ry.index[a]!)![k]!;
      y[oy * outW * 3 + k] = (acc / 255 - spec.mean[k % 3]!) / spec.std[k % 3]!;
    }
  }
  return y;
}
