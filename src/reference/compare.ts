import type { Tolerance } from './tolerances.js';

export interface Comparison {
  ok: boolean;
  elements: number;
  maxAbs: number;
  maxRel: number;
  /** First index failing the tolerance, -1 when none. */
  firstBad: number;
  message: string;
}

/** Element-wise check; the message gives max abs/rel error and the first bad index with both values. */
export function compare(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance, label = ''): Comparison {
  if (got.length !== want.length) {
    return { ok: false, elements: got.length, maxAbs: Infinity, maxRel: Infinity, firstBad: 0, message: `${label}: length ${got.length} != expected ${want.length}` };
  }
  let maxAbs = 0;
  let maxRel = 0;
  let firstBad = -1;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const d = Math.abs(g - w);
    // NaN must never pass: d > x is false for NaN, so test the negation.
    const bad = !(d <= tol.abs + tol.rel * Math.abs(w));
    if (Number.isNaN(d)) maxAbs = NaN;
    else if (d > maxAbs) maxAbs = d;
    const r = d / Math.max(Math.abs(w), 1e-30);
    if (r > maxRel && w !== 0) maxRel = r;
    if (bad && firstBad < 0) firstBad = i;
  }
  const ok = firstBad < 0;
  const stats = `max abs err ${maxAbs.toExponential(2)}, max rel err ${maxRel.toExponential(2)} over ${got.length} values`;
  const message = ok
    ? `${label}: ok, ${stats}`
    : `${label}: FAIL, ${stats}; first bad index ${firstBad}: got ${got[firstBad]}, want ${want[firstBad]} (tolerance abs ${tol.abs} + rel ${tol.rel})`;
  return { ok, elements: got.length, maxAbs, maxRel, firstBad, message };
}
