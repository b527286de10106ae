/**
 * float64 reference for a dense k×k convolution (cross-correlation, as torch.nn.Conv2d), independent of the
 * WGSL: plain loops over dense NHWC arrays and a torchvision [Cout, Cin, k, k] weight. Padding is given per
 * side and taps outside the map contribute 0; the output size follows from the padded extent.
 */
export interface ConvRefSpec {
  N: number;
  H: number;
  W: number;
  inC: number;
  outC: number;
  k: number;
  stride: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  act: 'silu' | 'none';
}

export interface ConvRefResult {
  /** Dense NHWC [N, Ho, Wo, outC]. */
  y: Float64Array;
  Ho: number;
  Wo: number;
}

/**
 * y = act(conv(x, weight) + bias) (+ res). x is dense NHWC [N, H, W, inC]; res, when given, dense NHWC of the
 * output's shape, added after the activation.
 */
export function convRef(
  spec: ConvRefSpec, x: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number>, res?: ArrayLike<number>,
): ConvRefResult {
  const { N, H, W, inC, outC, k, stride } = spec;
  const Ho = Math.floor((H + spec.padTop + spec.padBottom - k) / stride) + 1;
  const Wo = Math.floor((W + spec.padLeft + spec.padRight - k) / stride) + 1;
  // [kh][kw][ci][co], so the innermost loop walks contiguous output channels.
  const wt = new Float64Array(k * k * inC * outC);
  for (let co = 0; co < outC; co++)
    for (let ci = 0; ci < inC; ci++)
      for (let t = 0; t < k * k; t++) wt[(t * inC + ci) * outC + co] = weight[(co * inC + ci) * k * k + t]!;
  const y = new Float64Array(N * Ho * Wo * outC);
  const acc = new Float64Array(outC);
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++) {
        for (let co = 0; co < outC; co++) acc[co] = bias[co]!;
        for (let kh = 0; kh < k; kh++) {
          const ih = oh * stride + kh - spec.padTop;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < k; kw++) {
            const iw = ow * stride + kw - spec.padLeft;
            if (iw < 0 || iw >= W) continue;
            const xAt = ((n * H + ih) * W + iw) * inC;
            for (let ci = 0; ci < inC; ci++) {
              const v = x[xAt + ci]!;
              const wAt = ((kh * k + kw) * inC + ci) * outC;
              for (let co = 0; co < outC; co++) acc[co] += v * wt[wAt + co]!;
            }
          }
        }
        const yAt = ((n * Ho + oh) * Wo + ow) * outC;
        for (let co = 0; co < outC; co++) {
          let v = acc[co]!;
          if (spec.act === 'silu') v = v / (1 + Math.exp(-v));
          y[yAt + co] = res ? v + res[yAt + co]! : v;
        }
      }
  return { y, Ho, Wo };
}
