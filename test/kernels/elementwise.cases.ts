import type { KernelCase } from './case.js';
import { compare } from '../../src/reference/compare.js';
import { dispatchOnce } from '../support/dispatch.js';
import { randomF32, toNHWC4, fromNHWC4, paddingValues, pad4 } from '../support/tensor.js';
import { TOL } from '../../src/reference/tolerances.js';
import { elementwiseOp } from '../../src/kernels/elementwise.js';

/** float64 references, independent of the WGSL. */
export const siluRef = (x: number) => x / (1 + Math.exp(-x));


interface Shape { n: number; h: number; w: number; c: number; tags: KernelCase['tags'] }

const SHAPES: Shape[] = [
  { n: 1, h: 112, w: 112, c: 32, tags: ['b0', 'chrome'] },
  { n: 1, h: 7, w: 7, c: 1280, tags: ['b0'] },
  { n: 1, h: 192, w: 192, c: 24, tags: ['v2s'] },
  { n: 3, h: 5, w: 7, c: 6, tags: ['awkward', 'chrome'] },
  // More vec4s than one dispatch dimension allows workgroups for, to exercise the x/y fold.
  { n: 1, h: 1, w: 1, c: 4 * 64 * 70000, tags: ['awkward'] },
];

const label = (s: Shape) => `${s.n}x${s.h}x${s.w}x${s.c}`;

export const elementwiseCases: KernelCase[] = SHAPES.flatMap((s): KernelCase[] => {
  const pixels = s.n * s.h * s.w;
  const count = (pixels * pad4(s.c)) / 4;
  return [
    {
      name: `elementwise silu ${label(s)}`,
      kernel: 'elementwise',
      tags: s.tags,
      async run(lib) {
        // Wide range so exp over/underflow paths (x = ±30) are exercised, not just the linear middle.
        const dense = randomF32(pixels * s.c, 11, 30);
        const x = toNHWC4(dense, s.n, s.h, s.w, s.c);
        const { y } = await dispatchOnce(lib, { kernel: 'elementwise', overrides: { OP: elementwiseOp('silu') }, uniforms: { count, C4: 0, HW: 0 }, buffers: { x, other: 16, y: x.byteLength }, read: ['y'] });
        return [
          compare(fromNHWC4(y!, s.n, s.h, s.w, s.c), Array.from(dense, siluRef), TOL.elementwise, `silu ${label(s)}`),
          compare(paddingValues(y!, pixels, s.c), new Array(pixels * (pad4(s.c) - s.c)).fill(0), TOL.exact, 'padding stays zero'),
        ];
      },
    },
    {
      name: `elementwise add ${label(s)}`,
      kernel: 'elementwise',
      tags: s.tags,
      async run(lib) {
        const a = toNHWC4(randomF32(pixels * s.c, 21), s.n, s.h, s.w, s.c);
        const b = toNHWC4(randomF32(pixels * s.c, 22), s.n, s.h, s.w, s.c);
        const { y } = await dispatchOnce(lib, { kernel: 'elementwise', overrides: { OP: elementwiseOp('add') }, uniforms: { count, C4: 0, HW: 0 }, buffers: { x: a, other: b, y: a.byteLength }, read: ['y'] });
        // f32 + f32 rounded to f32 is exact in IEEE arithmetic, so the GPU must match Math.fround bit for bit.
        return [compare(y!, Array.from(a, (v, i) => Math.fround(v + b[i]!)), TOL.exact, `add ${label(s)}`)];
      },
    },
    {
      name: `elementwise scale ${label(s)}`,
      kernel: 'elementwise',
      tags: s.tags,
      async run(lib) {
        const dense = randomF32(pixels * s.c, 31);
        const gate = randomF32(s.n * s.c, 32);
        const x = toNHWC4(dense, s.n, s.h, s.w, s.c);
        const se = toNHWC4(gate, s.n, 1, 1, s.c);
        const hw = s.h * s.w;
        const { y } = await dispatchOnce(lib, {
          kernel: 'elementwise',
          overrides: { OP: elementwiseOp('scale') },
          uniforms: { count, C4: pad4(s.c) / 4, HW: hw },
          buffers: { x, other: se, y: x.byteLength },
          read: ['y'],
        });
        // One f32 multiply per element: IEEE-exact, so Math.fround of the float64 product must match bit for bit.
        const want = Array.from(dense, (v, i) => Math.fround(v * gate[Math.floor(i / (hw * s.c)) * s.c + (i % s.c)]!));
        return [
          compare(fromNHWC4(y!, s.n, s.h, s.w, s.c), want, TOL.exact, `elementwise scale ${label(s)}`),
          compare(paddingValues(y!, pixels, s.c), new Array(pixels * (pad4(s.c) - s.c)).fill(0), TOL.exact, 'padding stays zero'),
        ];
      },
    },
  ];
});
