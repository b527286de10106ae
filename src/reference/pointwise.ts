/**
 * float64 reference of a 1×1 convolution (torch.nn.Conv2d with a [Cout, Cin, 1, 1] weight, or nn.Linear)
 * with the fusions the engine applies around it, independent of the WGSL: plain loops over dense NHWC.
 */
export interface PointwiseRefSpec {
  N: number;
  /** Pixels per image, H·W (1 for the classifier). */
  HW: number;
  inC: number;
  outC: number;
  act: 'silu' | 'none';
}

/**
 * y[n, p, co] = act(Σ_ci x[n, p, ci] · gate[n, ci] · weight[co, ci] + bias[co]) + res[n, p, co].
 * x is dense [N, HW, inC]; gate (dense [N, inC]) and res (dense [N, HW, outC]) are optional. Returns dense
 * [N, HW, outC].
 */
export function pointwiseRef(
  spec: PointwiseRefSpec, x: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number>,
  gate?: ArrayLike<number>, res?: ArrayLike<number>,
): Float64Array {
  const { N, HW, inC, outC } = spec;
  // [ci][co], so the innermost loop walks contiguous output channels.
  const wt = new Float64Array(inC * outC);
  for (let co = 0; co < outC; co++) for (let ci = 0; ci < inC; ci++) wt[ci * outC + co] = weight[co * inC + ci]!;
  const y = new Float64Array(N * HW * outC);
  const acc = new Float64Array(outC);
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < HW; p++) {
      const m = n * HW + p;
      for (let co = 0; co < outC; co++) acc[co] = bias[co]!;
      for (let ci = 0; ci < inC; ci++) {
        const v = x[m * inC + ci]! * (gate ? gate[n * inC + ci]! : 1);
        for (let co = 0; co < outC; co++) acc[co] += v * wt[ci * outC + co]!;
      }
      for (let co = 0; co < outC; co++) {
        const a = acc[co]!;
        y[m * outC + co] = (spec.act === 'silu' ? a / (1 + Math.exp(-a)) : a) + (res ? res[m * outC + co]! : 0);
      }
    }
  }
  return y;
}
