/**
 * How kernel-bench judges one output of a user's kernel: every value against the float64 reference (a NaN, which
 * is what a slot never written holds after the tool's NaN fill, never passes), and two runs of the same launch
 * value for value (a difference is a race). A failure says how many values are wrong and where the first few are,
 * as (n, y, x, c) of the output, so the author can find the index math at fault.
 */
import type { UniformValues } from '../kernels/reflect.js';
import type { Tolerance } from '../reference/tolerances.js';

/** How many wrong values a failure lists. */
const SHOWN = 3;

/** What an output index is, as `(n, y, x, c)` (or `(n, c)` for per-image outputs, `(n, pixel, c)` without a width). */
export function indexDecoder(u: UniformValues, length: number, width?: number): (i: number) => string {
  const v = (k: string) => (typeof u[k] === 'number' ? (u[k] as number) : undefined);
  // Channels per output pixel: conv outputs have Cout4 (stem, fused conv) or C4 (dwconv); pointwise has N4.
  const C = 4 * (v('Cout4') ?? v('N4') ?? v('C4') ?? 0);
  if (!C || length % C) return (i) => `index ${i}`;
  const Ho = v('Ho');
  const Wo = v('Wo');
  const HW = v('HW');
  const pixels = length / C;
  if (Ho && Wo && pixels % (Ho * Wo) === 0) {
    return (i) => {
      const p = Math.floor(i / C);
      return `(n=${Math.floor(p / (Ho * Wo))}, y=${Math.floor(p / Wo) % Ho}, x=${p % Wo}, c=${i % C})`;
    };
  }
  // Pointwise rows are pixels of HW per image; its width is the layer's when the launch is the model's.
  if (v('N4') && HW && pixels % HW === 0) {
    return (i) => {
      const p = Math.floor(i / C);
      const at = p % HW;
      const where = width && HW % width === 0 ? `y=${Math.floor(at / width)}, x=${at % width}` : `pixel=${at}`;
      return `(n=${Math.floor(p / HW)}, ${where}, c=${i % C})`;
    };
  }
  return (i) => `(n=${Math.floor(i / C)}, c=${i % C})`;
}

/** A failing output as data, for the reports' failure tables (`message` says the same in one line). */
export interface OutputFailure {
  output: string;
  /** Values outside the tolerance, of `total`; the first few, where (n, y, x, c) and what. */
  wrong: number;
  total: number;
  first: { at: string; got: number; want: number }[];
  /** Values that differ between two runs of the launch (a race), and the first of them. */
  differ: number;
  firstDiff: { at: string; first: number; second: number } | null;
}

export interface OutputCheck {
  ok: boolean;
  maxAbs: number;
  maxRel: number;
  message: string;
  failure?: OutputFailure;
}

const value = (x: number) => (Number.isNaN(x) ? 'NaN (never written, or read before written)' : String(x));

/**
 * `got` (the first run) against `want` within `tol`, and `again` (the second run) against the first.
 * `launch` names the launch in a failure.
 */
export function checkOutput(
  label: string, got: ArrayLike<number>, again: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance, at: (i: number) => string, launch: string,
): OutputCheck {
  if (got.length !== want.length) {
    return {
      ok: false, maxAbs: NaN, maxRel: NaN, message: `${label}: FAIL on ${launch}: ${got.length} values, expected ${want.length}`,
      failure: { output: label, wrong: want.length, total: want.length, first: [], differ: 0, firstDiff: null },
    };
  }
  let maxAbs = 0;
  let maxRel = 0;
  const bad: number[] = [];
  let wrong = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const d = Math.abs(g - w);
    if (Number.isNaN(d)) [maxAbs, maxRel] = [NaN, NaN];
    else if (d > maxAbs) maxAbs = d;
    if (w !== 0 && d / Math.abs(w) > maxRel) maxRel = d / Math.abs(w);
    // NaN must never pass: a comparison with NaN is false, so test the negation.
    if (!(d <= tol.abs + tol.rel * Math.abs(w))) {
      wrong++;
      if (bad.length < SHOWN) bad.push(i);
    }
  }
  // The same launch over the same data must write the same values (NaN matches NaN: an unwritten slot is no race).
  let differ = 0;
  let firstDiff = -1;
  for (let i = 0; i < want.length; i++) {
    const [x, y] = [got[i]!, again[i]!];
    if (x !== y && !(Number.isNaN(x) && Number.isNaN(y))) {
      differ++;
      if (firstDiff < 0) firstDiff = i;
    }
  }
  const race = differ
    ? `two runs of the same launch differ in ${differ} of ${want.length} values, first ${at(firstDiff)}: ${got[firstDiff]} then ${again[firstDiff]} — a race (two invocations writing one slot, or one reading what another writes)`
    : '';
  const failure: OutputFailure = {
    output: label, wrong, total: want.length, first: bad.map((i) => ({ at: at(i), got: got[i]!, want: want[i]! })),
    differ, firstDiff: differ ? { at: at(firstDiff), first: got[firstDiff]!, second: again[firstDiff]! } : null,
  };
  const stats = `max abs err ${maxAbs.toExponential(2)}, max rel err ${maxRel.toExponential(2)} over ${want.length} values`;
  if (wrong) {
    const first = bad.map((i) => `${at(i)} got ${value(got[i]!)}, want ${want[i]}`).join('; ');
    return {
      ok: false, maxAbs, maxRel,
      message: `${label}: FAIL on ${launch}: ${wrong} of ${want.length} values wrong (tolerance abs ${tol.abs} + rel ${tol.rel}; ${stats}); first: ${first}${race ? `; ${race}` : ''}`,
      failure,
    };
  }
  if (race) return { ok: false, maxAbs, maxRel, message: `${label}: FAIL on ${launch}: ${race}`, failure };
  return { ok: true, maxAbs, maxRel, message: `${label}: ok, ${stats}, two runs bit-identical` };
}
