/**
 * `effnet export-weights`: any weights the engine loads (torchvision/timm/third-party safetensors or PyTorch
 * checkpoints, a TF.js model, or `--arch`'s pretrained weights — B0's by default) written as one engine weights file
 * (src/weights/effnet-format.ts) — BatchNorm folded, the architecture in its metadata — for a web app to serve
 * and `loadModel({ weights: url })` to read in one request.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { exportWeights } from '../../src/api.js';
import { getArch, type ArchName } from '../../src/model/tables.js';
import { pretrained } from '../../src/pretrained.js';
import type { Command } from '../command.js';
import { parseFlags, pretrainedFlags } from '../harness/index.js';

export const exportWeightsCommand: Command = {
  name: 'export-weights',
  summary: 'Write any supported weights (default: --arch\'s pretrained weights, B0\'s) as one browser-ready safetensors file',
  usage: 'effnet export-weights --out FILE.safetensors [--weights W | --arch A [--from tf-hub|torchvision] [--mirror URL|DIR]] [--dtype f32|f16] [--json]',
  async run(args) {
    const { flags } = parseFlags(args, { strings: ['out', 'weights', 'arch', 'dtype', 'from', 'mirror'], booleans: ['json'] });
    if (typeof flags.out !== 'string') throw new Error(`export-weights needs --out FILE.safetensors (usage: ${exportWeightsCommand.usage})`);
    const log = (s: string) => process.stderr.write(s + '\n');
    const arch = typeof flags.arch === 'string' ? getArch(flags.arch) : typeof flags.weights === 'string' ? undefined : getArch('efficientnet_b0');
    const source =
      typeof flags.weights === 'string'
        ? resolve(flags.weights)
        : (await pretrained(arch!.name as ArchName, { log, ...pretrainedFlags(flags) })).weights;
    const dtype = flags.dtype === undefined ? 'F32' : String(flags.dtype).toUpperCase();
    // f16: half the bytes; the weights load exactly as stored, rounded once from f32 (README: export-weights).
    if (dtype !== 'F32' && dtype !== 'F16') throw new Error(`export-weights: --dtype must be f32 or f16, got '${flags.dtype}'`);
    const { spec, bytes } = await exportWeights({ weights: source, dtype, ...(arch ? { arch } : {}) });
    const out = resolve(flags.out);
    // Written beside and renamed, so a server never serves half a file.
    // `--out public/b0.safetensors` in a fresh app: the folder may not exist yet.
    await mkdir(dirname(out), { recursive: true });
    await writeFile(`${out}.partial`, bytes);
    await rename(`${out}.partial`, out);
    const summary = { out, arch: spec.name, dtype, bytes: bytes.byteLength, padding: spec.padding, source };
    if (flags.json) console.log(JSON.stringify(summary, null, 1));
    else console.log(`${out}: ${spec.name} (${spec.padding} padding), ${dtype}, ${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB, from ${source}`);
    return 0;
  },
};
