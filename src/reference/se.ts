/** float64 reference of Squeeze-and-Excitation on a dense NHWC activation, with torchvision's fc1/fc2 layouts. */
import { silu } from './dwconv.js';

/** Per-(n, c) mean over the HW positions of a dense [N, HW, C] array. */
export function channelMeans(a: ArrayLike<number>, N: number, HW: number, C: number): Float64Array {
  const m = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < HW; p++) for (let c = 0; c < C; c++) m[n * C + c]! += a[(n * HW + p) * C + c]!;
  }
  return m.map((v) => v / HW);
}

/**
 * sigmoid(fc2(silu(fc1(mean(a))))) per (n, c): fc1 weight [seC, C, 1, 1] + bias [seC], fc2 weight
 * [C, seC, 1, 1] + bias [C]. Returns dense [N, C].
 */
export function seRef(
  a: ArrayLike<number>, N: number, HW: number, C: number, seC: number,
  fc1w: ArrayLike<number>, fc1b: ArrayLike<number>, fc2w: ArrayLike<number>, fc2b: ArrayLike<number>,
): Float64Array {
  const m = channelMeans(a, N, HW, C);
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    const h = new Float64Array(seC);
    for (let j = 0; j < seC; j++) {
      let acc = fc1b[j]!;
      for (let c = 0; c < C; c++) acc += fc1w[j * C + c]! * m[n * C + c]!;
      h[j] = silu(acc);
    }
    for (let c = 0; c < C; c++) {
      let acc = fc2b[c]!;
      for (let j = 0; j < seC; j++) acc += fc2w[c * seC + j]! * h[j]!;
      out[n * C + c] = 1 / (1 + Math.exp(-acc));
    }
  }
  return out;
}
