import type { CaseTag, KernelCase } from './case.js';
import type { LaunchTarget } from '../../src/kernels/launch.js';
import { packSe, seExciteLaunch } from '../../src/kernels/se.js';
import type { DwconvShape } from '../../src/kernels/dwconv.js';
import { layerOps } from '../../src/model/layers.js';
import { getArch } from '../../src/model/tables.js';
import { compare } from '../../src/reference/compare.js';
import { dispatchOnce } from '../support/dispatch.js';
import { fromNHWC4, pad4, paddingValues, randomF32 } from '../support/tensor.js';
import { seRef } from '../../src/reference/se.js';
import { TOL } from '../../src/reference/tolerances.js';
import { checkDwconvOutput, dwconvLabel, runDwconv } from './dwconv.cases.js';

interface SeCase {
  conv: DwconvShape;
  seC: number;
  tags: CaseTag[];
}

/** Each distinct SE op of the network with the depthwise conv that feeds it (its block's), in first-use order. */
function real(arch: string, tag: CaseTag): SeCase[] {
  const ops = layerOps(getArch(arch));
  const seen = new Set<string>();
  const out: SeCase[] = [];
  ops.forEach(({ op }, i) => {
    const prev = ops[i - 1]?.op;
    if (op.kind !== 'se' || prev?.kind !== 'dwconv') return;
    const conv: DwconvShape = { N: 1, C: prev.C, H: prev.H, W: prev.W, k: prev.k, s: prev.s, padding: prev.padding, squeeze: true };
    const key = `${dwconvLabel(conv)} se${op.seC}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ conv, seC: op.seC, tags: [tag] });
  });
  return out;
}

const awkward = (N: number, C: number, seC: number, H: number, W: number, k: number, s: number, padding: DwconvShape['padding'], chrome = false): SeCase => ({
  conv: { N, C, H, W, k, s, padding, squeeze: true },
  seC,
  tags: chrome ? ['awkward', 'chrome'] : ['awkward'],
});

const CASES: SeCase[] = [
  ...real('efficientnet_b0', 'b0'),
  ...real('efficientnet_v2_s', 'v2s'),
  // Batch 3 (partials per image), C and seC not multiples of 4, stride 2 on odd and even sizes.
  awkward(3, 13, 3, 9, 10, 3, 2, 'same', true),
  awkward(3, 6, 1, 11, 9, 5, 2, 'symmetric'),
  awkward(2, 10, 5, 1, 1, 3, 1, 'symmetric'),
  // More channel vec4s than invocations per workgroup: the chunked mean and fc2 loops.
  awkward(2, 1030, 70, 3, 3, 3, 1, 'symmetric'),
  // B7 / V2-XL's widest SE (3840 → 160): also more groups of 4 squeeze units (40) than invocations.
  awkward(1, 3840, 160, 2, 2, 3, 1, 'same'),
];

// B0's 14×14×672 stride-2 k5 block (squeeze of a ragged 4-pixel strip grid) also runs in Chromium.
CASES.find((c) => c.tags.includes('b0') && c.conv.H === 14 && c.conv.C === 672 && c.conv.s === 2)!.tags.push('chrome');

const seCase = (target: LaunchTarget, seed: number) => ({ conv, seC, tags }: (typeof CASES)[number], i: number): KernelCase => ({
  name: `se_excite ${dwconvLabel(conv)} se${seC}${target.isFallback ? '' : ' (GPU target)'}`,
  kernel: 'se_excite',
  tags,
  async run(lib) {
    const { N, C } = conv;
    const r = await runDwconv(lib, conv, seed + 11 * i, target);
    const { Ho, Wo } = r.launch.uniforms;
    const fc1w = randomF32(seC * C, 600 + i, 2 / Math.sqrt(C));
    const fc1b = randomF32(seC, 700 + i, 0.5);
    const fc2w = randomF32(C * seC, 800 + i, 2 / Math.sqrt(seC));
    const fc2b = randomF32(C, 900 + i, 0.5);
    const launch = seExciteLaunch({ N, C, seC, H: Ho, W: Wo, partSlots: r.launch.partSlots }, target);
    const { se } = await dispatchOnce(lib, {
      kernel: launch.kernel,
      overrides: launch.overrides,
      uniforms: launch.uniforms,
      buffers: { part: r.part, ...packSe(fc1w, fc1b, fc2w, fc2b, C, seC), se: N * pad4(C) * 4 },
      read: ['se'],
    });
    const want = seRef(r.ref, N, Ho * Wo, C, seC, fc1w, fc1b, fc2w, fc2b);
    return [
      ...checkDwconvOutput(conv, r),
      compare(fromNHWC4(se!, N, 1, 1, C), want, TOL.reduction, `se ${C}→${seC}→${C}`),
      compare(paddingValues(se!, N, C), new Array(N * (pad4(C) - C)).fill(0), TOL.exact, 'se padding is zero'),
    ];
  },
});

// SwiftShader's schedule, and a hardware GPU's (more squeeze slots from the dwconv, workgroups of 128).
export const seCases: KernelCase[] = [
  ...CASES.map(seCase({ isFallback: true }, 500)),
  ...CASES.map((c, i) => ({ ...seCase({ isFallback: false }, 1500)(c, i), tags: c.tags.filter((t) => t !== 'chrome') })),
];
