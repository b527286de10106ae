/**
 * kernel-bench's output check without a GPU (src/kernel-bench/check.ts): where a wrong value is, decoded from the
 * launch's uniforms; a NaN (an unwritten slot after the NaN fill) never passing; and a race — two runs of the same
 * launch that disagree — failing even when both runs are within tolerance, since a race need not change values on
 * every device.
 */
import { describe, expect, test } from 'vitest';
import { checkOutput, indexDecoder } from '../src/kernel-bench/check.js';
import { TOL } from '../src/reference/tolerances.js';

describe('where a value is', () => {
  test('(n, y, x, c) for conv outputs, (n, c) per image, (n, y, x, c) or (n, pixel, c) for pointwise rows', () => {
    // dwconv: 2 images of 3×5 pixels, 8 channels.
    const dw = indexDecoder({ H: 5, W: 9, C4: 2, Ho: 3, Wo: 5, padTop: 1, padLeft: 1, strips: 2, rows: 1, rowBlocks: 3, count: 24 }, 2 * 3 * 5 * 8, 9);
    expect(dw(0)).toBe('(n=0, y=0, x=0, c=0)');
    expect(dw(((1 * 3 + 2) * 5 + 4) * 8 + 7)).toBe('(n=1, y=2, x=4, c=7)');
    // The squeeze sums of the same launch: one per image and channel.
    expect(indexDecoder({ C4: 2, count: 24 }, 2 * 8)(9)).toBe('(n=1, c=1)');
    const pw = { M: 2 * 12, K4: 3, N4: 1, HW: 12 };
    expect(indexDecoder(pw, 24 * 4, 4)(((12 + 7) * 4) + 3)).toBe('(n=1, y=1, x=3, c=3)');
    expect(indexDecoder(pw, 24 * 4, 5)(((12 + 7) * 4) + 3)).toBe('(n=1, pixel=7, c=3)');
  });
});

describe('the verdict on one output', () => {
  const at = (i: number) => `(i=${i})`;

  test('a NaN left by the fill fails, counted, with the launch and the first wrong values', () => {
    const c = checkOutput('y', [1, NaN, 3, NaN], [1, NaN, 3, NaN], [1, 2, 3, 4], TOL.conv, at, 'dwconv K=3');
    expect(c.ok).toBe(false);
    expect(c.message).toMatch(/^y: FAIL on dwconv K=3: 2 of 4 values wrong \(.*\); first: \(i=1\) got NaN \(never written, or read before written\), want 2; \(i=3\) got NaN/);
  });

  test('two runs that differ fail as a race, even within tolerance', () => {
    const c = checkOutput('part', [1, 2.000001], [1, 2], [1, 2], TOL.conv, at, 'dwconv K=3');
    expect(c.ok).toBe(false);
    expect(c.message).toBe('part: FAIL on dwconv K=3: two runs of the same launch differ in 1 of 2 values, first (i=1): 2.000001 then 2 — a race (two invocations writing one slot, or one reading what another writes)');
  });

  test('identical runs within tolerance pass', () => {
    const c = checkOutput('y', [1, 2.000001], [1, 2.000001], [1, 2], TOL.conv, at, 'dwconv K=3');
    expect(c.ok).toBe(true);
    expect(c.message).toMatch(/^y: ok, .*, two runs bit-identical$/);
  });
});
