/** float64 references of the head's global average pool and of the row softmax. */
export { channelMeans as avgPoolRef } from './se.js';

/** softmax over each of the N rows of a dense [N, K] array, from the definition exp(x_k) / Σ exp(x_j), stabilised by the row max. */
export function softmaxRef(x: ArrayLike<number>, N: number, K: number): Float64Array {
  const y = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    let mx = -Infinity;
    for (let k = 0; k < K; k++) mx = Math.max(mx, x[n * K + k]!);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += y[n * K + k] = Math.exp(x[n * K + k]! - mx);
    for (let k = 0; k < K; k++) y[n * K + k]! /= sum;
  }
  return y;
}
