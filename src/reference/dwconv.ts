/**
 * float64 reference of the depthwise conv + bias + SiLU, on dense NHWC arrays with torchvision's
 * [C, 1, k, k] weight. The padding geometry is worked out here from its definition, not taken from the
 * engine, so a wrong convGeometry would show up as a mismatch.
 */
export type Padding = 'symmetric' | 'same';

export function padGeometry(size: number, k: number, s: number, padding: Padding): { out: number; before: number } {
  if (padding === 'symmetric') {
    const p = Math.floor(k / 2);
    return { out: Math.floor((size + 2 * p - k) / s) + 1, before: p };
  }
  // TensorFlow SAME: out = ceil(size / s); the total padding needed to reach it goes half before,
  // the odd pixel after.
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  return { out, before: Math.floor(total / 2) };
}

export const silu = (v: number) => v / (1 + Math.exp(-v));

export interface DwconvRef {
  /** Dense NHWC [N, Ho, Wo, C]. */
  y: Float64Array;
  Ho: number;
  Wo: number;
}

export function dwconvRef(
  x: ArrayLike<number>, N: number, H: number, W: number, C: number,
  weight: ArrayLike<number>, bias: ArrayLike<number>, k: number, s: number, padding: Padding,
): DwconvRef {
  const gh = padGeometry(H, k, s, padding);
  const gw = padGeometry(W, k, s, padding);
  const [Ho, Wo] = [gh.out, gw.out];
  const y = new Float64Array(N * Ho * Wo * C);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++) {
        for (let c = 0; c < C; c++) {
          let acc = bias[c]!;
          for (let kh = 0; kh < k; kh++) {
            const ih = oh * s + kh - gh.before;
            if (ih < 0 || ih >= H) continue;
            for (let kw = 0; kw < k; kw++) {
              const iw = ow * s + kw - gw.before;
              if (iw < 0 || iw >= W) continue;
              acc += x[((n * H + ih) * W + iw) * C + c]! * weight[(c * k + kh) * k + kw]!;
            }
          }
          y[((n * Ho + oh) * Wo + ow) * C + c] = silu(acc);
        }
      }
    }
  }
  return { y, Ho, Wo };
}
