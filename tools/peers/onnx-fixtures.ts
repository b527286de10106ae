/**
 * The torchvision side of `effnet bench`: the seeded fixtures in the folder `--fixtures` names (weights our
 * engine loads, and for B0 torchvision's own ONNX export at its fixture resolution). Every other peer model —
 * any arch, resolution and batch, ONNX and TFLite alike — is written from the loaded weights by
 * peer-models.ts, so nothing here needs Python or PyTorch.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ARCHS } from '../../src/model/tables.js';

export interface TorchvisionFixture {
  arch: string;
  /** The resolution, batch, seed and weight dtype the stored fixture was made with. */
  res: number;
  batch: number;
  seed: number;
  dtype: string;
  weights: string;
  /** The fixtures folder it was read from. */
  dir: string;
}

/** The zoo archs with a stored torchvision fixture (`<arch>.json` and `<arch>.weights.safetensors`). */
export function fixtureArchs(dir: string): string[] {
  const suffix = '.weights.safetensors';
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .map((f) => f.slice(0, -suffix.length))
    .filter((a) => a in ARCHS && existsSync(join(dir, `${a}.json`)))
    .sort();
}

export async function torchvisionFixture(dir: string, arch: string): Promise<TorchvisionFixture> {
  const meta = JSON.parse(await readFile(join(dir, `${arch}.json`), 'utf8')) as Record<string, string | number>;
  return {
    arch,
    res: Number(meta.resolution),
    batch: Number(meta.batch),
    seed: Number(meta.seed),
    dtype: String(meta.weights_dtype),
    weights: join(dir, `${arch}.weights.safetensors`),
    dir,
  };
}

/** torchvision's own ONNX export of `fx` (fixed H×W at the fixture's resolution, dynamic batch), when stored. */
export function storedOnnx(fx: TorchvisionFixture): string | undefined {
  const stored = join(fx.dir, `${fx.arch}.onnx`);
  return existsSync(stored) ? stored : undefined;
}
