/**
 * Which network a state dict holds, read off its keys and shapes: the engine's own file names it in its
 * metadata; otherwise every zoo variant of the naming's families (and, for model code with a width multiplier,
 * the widths its shapes suggest) is tried until one whose expected tensors the file holds exactly.
 */
import { EffnetError } from '../errors.js';
import { layerOps } from '../model/layers.js';
import { paramTensors } from '../model/ops.js';
import { getArch, scaledArch, zooVariants, type ArchSpec } from '../model/tables.js';
import type { SafetensorsFile } from '../safetensors.js';
import { effnetFileSpec, isEffnetFile } from './effnet-format.js';
import { stateDictFormat, type StateDictFormat } from './formats.js';
import { expectedStateDict, type StateDictNaming } from './torchvision.js';
import type { WeightOptions } from './types.js';

/**
 * The architecture a state dict holds: its format from the keys, then archOfFormat. Padding and BN eps are the
 * format's. Throws a WEIGHTS EffnetError listing what was tried when nothing matches.
 */
export function inferArch(file: SafetensorsFile, opts: WeightOptions & { source?: string } = {}): ArchSpec {
  const source = opts.source ?? '<state dict>';
  if (isEffnetFile(file)) return effnetFileSpec(file, source);
  return archOfFormat(file, stateDictFormat(file, source, opts), opts, source);
}

/** The architecture of a state dict whose format is already known (so the loader tells it once per file). */
export function archOfFormat(file: SafetensorsFile, f: StateDictFormat, opts: WeightOptions, source: string): ArchSpec {
  const tried: string[] = [];
  for (const variant of f.zoos.flatMap(zooVariants)) {
    const base = getArch(variant);
    const widths = f.freeWidth ? widthCandidates(file, base, f.naming) : [];
    for (const spec of [base, ...widths.map((width) => scaledArch(variant, { width }))]) {
      if (tried.includes(spec.name)) continue;
      tried.push(spec.name);
      const s = { ...spec, ...f.overrides(opts) };
      if (holdsExactly(file, s, f.naming)) return s;
    }
  }
  throw new EffnetError('WEIGHTS', `${source}: no architecture matches this ${f.format} state_dict (${file.names().length} tensors); tried: ${tried.join(', ')}`);
}

/** Every expected tensor present with its shape, and nothing else the format does not ignore. */
function holdsExactly(file: SafetensorsFile, spec: ArchSpec, naming: StateDictNaming): boolean {
  const expected = expectedStateDict(spec, naming);
  const names = new Set(expected.map((e) => e.name));
  const shapesMatch = expected.every((e) => {
    if (!file.has(e.name)) return false;
    const shape = file.get(e.name).shape;
    return shape.length === e.shape.length && shape.every((d, i) => d === e.shape[i]);
  });
  return shapesMatch && file.names().every((n) => names.has(n) || naming.ignore(n));
}

/**
 * Width multipliers to try for a free-width format: the ratio of the last stage's width in the file (the head
 * conv's input channels) to the table's, rounded to quarters, tenths, twentieths and hundredths first so a
 * matching width gets its round name, then exact.
 */
function widthCandidates(file: SafetensorsFile, base: ArchSpec, naming: StateDictNaming): number[] {
  const head = paramTensors(layerOps(base)).find((t) => t.op.slot === 'head')!;
  const named = naming.names(head, []);
  const key = typeof named === 'string' ? `${named}.weight` : named.weight;
  if (!file.has(key)) return [];
  const ratio = file.get(key).shape[1]! / base.stages[base.stages.length - 1]!.outC;
  return [...new Set([4, 10, 20, 100].map((d) => Math.round(ratio * d) / d).concat(ratio))].filter((w) => w > 0);
}
