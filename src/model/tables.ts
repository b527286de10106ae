import { EffnetError } from '../errors';
import { blockDef, blockKinds, makeDivisible } from './blocks.js';

export { makeDivisible };

/**
 * The EfficientNet zoo as data. Every per-variant fact (widths, depths, resolution, BN eps, padding) lives in
 * the tables below; code elsewhere reads an ArchSpec and never looks at the variant's name.
 */

/** A kind from the block table (blocks.ts): the built-in 'mbconv' and 'fused', or one added with defineBlock. */
export type BlockType = 'fused' | 'mbconv' | (string & {});

/** One stage of the network: `repeats` blocks, only the first of which has `stride` and changes the width. */
export interface StageRow {
  block: BlockType;
  expand: number;
  kernel: number;
  stride: number;
  outC: number;
  repeats: number;
  /** Squeeze ratio relative to the block's INPUT channels (torchvision: max(1, inC // 4)); 0 = no SE. */
  se: number;
}

export interface ArchSpec {
  name: string;
  stemC: number;
  /** Already scaled: these are the concrete widths and repeat counts. */
  stages: StageRow[];
  headC: number;
  numClasses: number;
  /** Default evaluation resolution. */
  resolution: number;
  bnEps: number;
  /** 'symmetric' = torchvision's k//2 on every side; 'same' = TensorFlow SAME (TFJS weights, timm tf_ variants). */
  padding: 'symmetric' | 'same';
  /** Figures the model's authors publish, shown beside ours by `effnet info`. */
  published?: PublishedFigures;
}

export interface PublishedFigures {
  params: number;
  /** Multiply-adds per image at the default resolution. */
  macs: number;
  source: string;
}

const mb = (expand: number, kernel: number, stride: number, outC: number, repeats: number): StageRow => ({
  block: 'mbconv', expand, kernel, stride, outC, repeats, se: 0.25,
});
// V2 uses no SE in its Fused-MBConv stages.
const fu = (expand: number, kernel: number, stride: number, outC: number, repeats: number): StageRow => ({
  block: 'fused', expand, kernel, stride, outC, repeats, se: 0,
});

interface Scaling {
  width: number;
  depth: number;
  resolution: number;
  bnEps: number;
  published?: PublishedFigures;
}

interface Family<N extends string = string> {
  /** The model code the family's variants come from; `zooVariants(zoo)` lists them. */
  zoo: string;
  stemC: number;
  rows: StageRow[];
  /**
   * The head width, and whether the width multiplier scales it: 'above1' to makeDivisible(channels × width)
   * when width > 1 only (the standalone V2 definition keeps 1792 when narrowing). Absent means torchvision's V1
   * rule, 4 × the last stage's scaled width.
   */
  head?: { channels: number; scaled: 'never' | 'above1' };
  padding: ArchSpec['padding'];
  variants: Record<N, Scaling>;
}

const v1 = (width: number, depth: number, resolution: number, bnEps: number): Scaling => ({ width, depth, resolution, bnEps });
const v2 = (resolution: number): Scaling => ({ width: 1, depth: 1, resolution, bnEps: 1e-3 });
// The standalone V2 definition uses PyTorch's default BatchNorm eps; its width_mult is chosen with scaledArch.
const dli14 = (resolution: number): Scaling => ({ width: 1, depth: 1, resolution, bnEps: 1e-5 });

/** torchvision's EfficientNetV2 configurations (S is the paper's Table 4): one table per variant, none scaled. */
const v2Family = <N extends string>(name: N, resolution: number, stemC: number, rows: StageRow[]): Family<N> => ({
  zoo: 'efficientnet_v2',
  stemC,
  rows,
  head: { channels: 1280, scaled: 'never' },
  padding: 'symmetric',
  // A computed key widens to string; the variant's name is exactly N.
  variants: { [name]: v2(resolution) } as Record<N, Scaling>,
});

/**
 * The standalone EfficientNetV2 PyTorch definition (d-li14/efficientnetv2.pytorch, `effnetv2_s/m/l/xl`): rows
 * [expand, channels, repeats, stride, use_se], Fused-MBConv where use_se is 0 (its own kind, which keeps the 1×1
 * projection at expand 1) and MBConv with its SE width rounding where it is 1; every kernel is 3×3.
 */
const dli14Rows = (rows: [number, number, number, number, number][]): StageRow[] =>
  rows.map(([expand, outC, repeats, stride, useSe]) =>
    useSe ? { block: 'mbconv_rounded_se', expand, kernel: 3, stride, outC, repeats, se: 0.25 } : { block: 'fused_project', expand, kernel: 3, stride, outC, repeats, se: 0 });
const dli14Family = <N extends string>(name: N, resolution: number, rows: [number, number, number, number, number][]): Family<N> => ({
  zoo: 'effnetv2_dli14',
  stemC: 24,
  rows: dli14Rows(rows),
  head: { channels: 1792, scaled: 'above1' },
  padding: 'symmetric',
  // A computed key widens to string; the variant's name is exactly N.
  variants: { [name]: dli14(resolution) } as Record<N, Scaling>,
});

const B0_ROWS = [mb(1, 3, 1, 16, 1), mb(6, 3, 2, 24, 2), mb(6, 5, 2, 40, 2), mb(6, 3, 2, 80, 3), mb(6, 5, 1, 112, 3), mb(6, 5, 2, 192, 4), mb(6, 3, 1, 320, 1)];

const FAMILIES = [
  {
    // torchvision efficientnet.py, B0 base table.
    zoo: 'efficientnet',
    stemC: 32,
    rows: B0_ROWS,
    padding: 'symmetric',
    variants: {
      efficientnet_b0: v1(1.0, 1.0, 224, 1e-5),
      efficientnet_b1: v1(1.0, 1.1, 240, 1e-5),
      efficientnet_b2: v1(1.1, 1.2, 260, 1e-5),
      efficientnet_b3: v1(1.2, 1.4, 300, 1e-5),
      efficientnet_b4: v1(1.4, 1.8, 380, 1e-5),
      efficientnet_b5: v1(1.6, 2.2, 456, 1e-3),
      efficientnet_b6: v1(1.8, 2.6, 528, 1e-3),
      efficientnet_b7: v1(2.0, 3.1, 600, 1e-3),
    },
  },
  v2Family('efficientnet_v2_s', 384, 24, [fu(1, 3, 1, 24, 2), fu(4, 3, 2, 48, 4), fu(4, 3, 2, 64, 4), mb(4, 3, 2, 128, 6), mb(6, 3, 1, 160, 9), mb(6, 3, 2, 256, 15)]),
  v2Family('efficientnet_v2_m', 480, 24, [fu(1, 3, 1, 24, 3), fu(4, 3, 2, 48, 5), fu(4, 3, 2, 80, 5), mb(4, 3, 2, 160, 7), mb(6, 3, 1, 176, 14), mb(6, 3, 2, 304, 18), mb(6, 3, 1, 512, 5)]),
  v2Family('efficientnet_v2_l', 480, 32, [fu(1, 3, 1, 32, 4), fu(4, 3, 2, 64, 7), fu(4, 3, 2, 96, 7), mb(4, 3, 2, 192, 10), mb(6, 3, 1, 224, 19), mb(6, 3, 2, 384, 25), mb(6, 3, 1, 640, 7)]),
  // Not in torchvision: the paper / timm definition.
  v2Family('efficientnet_v2_xl', 512, 32, [fu(1, 3, 1, 32, 4), fu(4, 3, 2, 64, 8), fu(4, 3, 2, 96, 8), mb(4, 3, 2, 192, 16), mb(6, 3, 1, 256, 24), mb(6, 3, 2, 512, 32), mb(6, 3, 1, 640, 8)]),
  {
    // PaddleClas EfficientNetB0_small: B0 without SE, TensorFlow padding and BN eps like its other EfficientNets.
    zoo: 'paddleclas',
    stemC: 32,
    rows: B0_ROWS.map((r) => ({ ...r, se: 0 })),
    padding: 'same',
    variants: {
      efficientnet_b0_small: { ...v1(1.0, 1.0, 224, 1e-3), published: { params: 4.65e6, macs: 0.72e9, source: 'PaddleClas model zoo' } },
    },
  },
  // Resolutions: the V2 paper's evaluation sizes (the code itself names none).
  dli14Family('effnetv2_s', 384, [[1, 24, 2, 1, 0], [4, 48, 4, 2, 0], [4, 64, 4, 2, 0], [4, 128, 6, 2, 1], [6, 160, 9, 1, 1], [6, 256, 15, 2, 1]]),
  dli14Family('effnetv2_m', 480, [[1, 24, 3, 1, 0], [4, 48, 5, 2, 0], [4, 80, 5, 2, 0], [4, 160, 7, 2, 1], [6, 176, 14, 1, 1], [6, 304, 18, 2, 1], [6, 512, 5, 1, 1]]),
  dli14Family('effnetv2_l', 480, [[1, 32, 4, 1, 0], [4, 64, 7, 2, 0], [4, 96, 7, 2, 0], [4, 192, 10, 2, 1], [6, 224, 19, 1, 1], [6, 384, 25, 2, 1], [6, 640, 7, 1, 1]]),
  dli14Family('effnetv2_xl', 512, [[1, 32, 4, 1, 0], [4, 64, 8, 2, 0], [4, 96, 8, 2, 0], [4, 192, 16, 2, 1], [6, 256, 24, 1, 1], [6, 512, 32, 2, 1], [6, 640, 8, 1, 1]]),
] satisfies Family[];

type VariantsOf<F> = F extends { variants: infer V } ? keyof V & string : never;
/** Every zoo architecture's name ('efficientnet_b0' … 'efficientnet_v2_xl', 'effnetv2_s', …), read off the families above. */
export type ArchName = VariantsOf<(typeof FAMILIES)[number]>;

/** Whether `name` is a zoo architecture (for names that arrive as strings: flags, files, URLs). */
export const isArchName = (name: string): name is ArchName => VARIANTS.has(name);

/**
 * Compound scaling, the one place it happens: widths via makeDivisible(c × width), depths via ceil(n × depth),
 * the head by the family's rule.
 */
function scaleArch(name: string, family: Family, s: Scaling): ArchSpec {
  const stages = family.rows.map((r) => ({
    ...r,
    outC: makeDivisible(r.outC * s.width),
    repeats: Math.ceil(r.repeats * s.depth),
  }));
  const head = family.head;
  const scaleHead = head?.scaled === 'above1' && s.width > 1;
  return {
    name,
    stemC: makeDivisible(family.stemC * s.width),
    stages,
    headC: !head ? 4 * stages[stages.length - 1]!.outC : scaleHead ? makeDivisible(head.channels * s.width) : head.channels,
    numClasses: 1000,
    resolution: s.resolution,
    bnEps: s.bnEps,
    padding: family.padding,
    ...(s.published && { published: s.published }),
  };
}

const VARIANTS = new Map<string, { family: Family; scaling: Scaling }>(
  (FAMILIES as Family[]).flatMap((f) => Object.entries(f.variants).map(([name, s]) => [name, { family: f, scaling: s }] as const)),
);

export const ARCHS: Readonly<Record<ArchName, ArchSpec>> = Object.fromEntries(
  [...VARIANTS].map(([name, { family, scaling }]) => [name, scaleArch(name, family, scaling)]),
) as Record<ArchName, ArchSpec>;

/** The zoo names of one model code's variants ('efficientnet', 'efficientnet_v2', 'effnetv2_dli14', 'paddleclas'). */
export const zooVariants = (zoo: string): string[] => [...VARIANTS].filter(([, v]) => v.family.zoo === zoo).map(([name]) => name);

/**
 * A zoo variant with its width multiplier replaced (the standalone V2 definition's `width_mult`), through the
 * family's scaling rule; named `<variant>_w<width>` unless the width is the variant's own.
 */
export function scaledArch(variant: string, opts: { width: number }): ArchSpec {
  const v = VARIANTS.get(variant);
  if (!v) throw unknownArch(variant);
  if (!(opts.width > 0 && Number.isFinite(opts.width))) {
    throw new EffnetError('MODEL_SPEC', `scaledArch('${variant}'): width must be a positive number, got ${opts.width}`);
  }
  const { family, scaling } = v;
  if (opts.width === scaling.width) return scaleArch(variant, family, scaling);
  // Published figures describe the variant's own width only.
  return scaleArch(`${variant}_w${opts.width}`, family, { ...scaling, width: opts.width, published: undefined });
}

export function getArch(name: string): ArchSpec {
  const spec = isArchName(name) ? ARCHS[name] : undefined;
  if (!spec) throw unknownArch(name);
  return spec;
}

const unknownArch = (name: string) => new EffnetError('MODEL_SPEC', `unknown architecture '${name}'; known: ${Object.keys(ARCHS).join(', ')}`);

const resolve = (a: ArchSpec | string): ArchSpec => (typeof a === 'string' ? getArch(a) : a);

function fail(spec: ArchSpec, what: string): never {
  throw new EffnetError('MODEL_SPEC', `architecture '${spec.name}': ${what}`);
}

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/**
 * Upper limits on every number of an ArchSpec, checked by validateArch before anything is built from it, so a
 * table from a file (an engine weights file's `__metadata__`) cannot make the op list, the parameter shapes or the
 * schedule grow without bound. Each is several times the largest in the zoo (B0–B7, V2 S/M/L/XL, the d-li14 and
 * PaddleClas tables), so width-scaled and custom variants fit: stages 7, repeats 32 and 100 blocks (V2-XL),
 * channels 2560 (B7's head), expand 6, resolution 600 (B7), 1000 classes (ImageNet-21k heads have 21843), BN eps
 * 1e-3. README.md lists them.
 */
export const ARCH_LIMITS = {
  nameLength: 256,
  stages: 32,
  repeats: 256,
  blocks: 1024,
  channels: 16384,
  expand: 16,
  resolution: 4096,
  numClasses: 65536,
  bnEps: 1,
} as const;

const upTo = (v: unknown, max: number): v is number => isPosInt(v) && v <= max;

/** A value for a message: numbers as they are, anything else by its type, so a hostile file's content is not echoed. */
const shown = (v: unknown): string => (typeof v === 'number' ? String(v) : v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/** Throws a MODEL_SPEC EffnetError naming the first field that the engine could not run or that is past ARCH_LIMITS. */
export function validateArch(spec: ArchSpec): ArchSpec {
  const L = ARCH_LIMITS;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new EffnetError('MODEL_SPEC', `an architecture must be an object, got ${shown(spec)}`);
  // Checked before any message quotes the name.
  if (typeof spec.name !== 'string' || spec.name === '' || spec.name.length > L.nameLength) {
    throw new EffnetError('MODEL_SPEC', `an architecture's name must be a string of 1..${L.nameLength} characters, got ${typeof spec.name === 'string' ? `${spec.name.length} characters` : shown(spec.name)}`);
  }
  const limited = { stemC: L.channels, headC: L.channels, numClasses: L.numClasses, resolution: L.resolution };
  for (const [k, max] of Object.entries(limited) as [keyof typeof limited, number][]) {
    if (!upTo(spec[k], max)) fail(spec, `${k} must be a positive integer up to ${max}, got ${shown(spec[k])}`);
  }
  if (!(spec.bnEps > 0 && spec.bnEps <= L.bnEps)) fail(spec, `bnEps must be > 0 and at most ${L.bnEps}, got ${shown(spec.bnEps)}`);
  const padding: unknown = spec.padding;
  if (padding !== 'symmetric' && padding !== 'same') fail(spec, `padding must be 'symmetric' or 'same', got ${typeof padding === 'string' ? `'${padding.slice(0, 32)}'` : shown(padding)}`);
  const p = spec.published;
  if (p !== undefined && !(typeof p === 'object' && p !== null && [p.params, p.macs].every((v) => typeof v === 'number' && v >= 0 && Number.isFinite(v)))) {
    fail(spec, 'published must hold finite, non-negative params and macs');
  }
  if (!Array.isArray(spec.stages) || spec.stages.length === 0 || spec.stages.length > L.stages) {
    fail(spec, `stages must be a non-empty array of at most ${L.stages} rows, got ${Array.isArray(spec.stages) ? `${spec.stages.length} rows` : shown(spec.stages)}`);
  }
  let blocks = 0;
  spec.stages.forEach((r, i) => {
    const at = `stage ${i + 1}`;
    if (typeof r !== 'object' || r === null) fail(spec, `${at} must be an object, got ${shown(r)}`);
    const block = typeof r.block === 'string' ? blockDef(r.block) : undefined;
    if (!block) fail(spec, `${at}: block must be one of ${blockKinds().map((k) => `'${k}'`).join(', ')}, got ${typeof r.block === 'string' ? `'${r.block.slice(0, 32)}'` : shown(r.block)}`);
    const rowLimited = { expand: L.expand, outC: L.channels, repeats: L.repeats };
    for (const [k, max] of Object.entries(rowLimited) as [keyof typeof rowLimited, number][]) {
      if (!upTo(r[k], max)) fail(spec, `${at}: ${k} must be a positive integer up to ${max}, got ${shown(r[k])}`);
    }
    blocks += r.repeats;
    if (![3, 5, 7].includes(r.kernel)) fail(spec, `${at}: kernel must be 3, 5 or 7, got ${shown(r.kernel)}`);
    if (r.stride !== 1 && r.stride !== 2) fail(spec, `${at}: stride must be 1 or 2, got ${shown(r.stride)}`);
    if (typeof r.se !== 'number' || !(r.se >= 0 && r.se <= 1)) fail(spec, `${at}: se must be in [0, 1], got ${shown(r.se)}`);
    const why = block!.check?.(r);
    if (why) fail(spec, `${at}: ${why}`);
  });
  if (blocks > L.blocks) fail(spec, `the stages hold ${blocks} blocks in all, more than ${L.blocks}`);
  return spec;
}

/** A user variant: `base` (spec or zoo name) with fields replaced, validated. */
export function customArch(base: ArchSpec | string, overrides: Partial<ArchSpec>): ArchSpec {
  const b = resolve(base);
  // The base's published figures describe the base, not the variant.
  return validateArch({ ...b, name: `${b.name}_custom`, published: undefined, ...overrides, stages: (overrides.stages ?? b.stages).map((r) => ({ ...r })) });
}

/** V2 paper ablation: the first `count` stages become Fused-MBConv with the same expand/kernel/stride/outC and no SE. */
export function withFusedStages(arch: ArchSpec | string, count: number): ArchSpec {
  const a = resolve(arch);
  if (!Number.isInteger(count) || count < 0 || count > a.stages.length) {
    throw new EffnetError('MODEL_SPEC', `withFusedStages: count must be an integer in 0..${a.stages.length}, got ${count}`);
  }
  return customArch(a, {
    name: `${a.name}_fused${count}`,
    stages: a.stages.map((r, i) => (i < count ? { ...r, block: 'fused', se: 0 } : r)),
  });
}
