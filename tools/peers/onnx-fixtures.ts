/**
 * The torchvision side of `effnet bench`: the seeded fixtures in the folder `--fixtures` names (weights our
 * engine loads) and the ONNX export of the same model that ONNX Runtime Web runs. The B0 export at 224 is
 * stored there; any other (arch, resolution) is exported once by make_fixtures.py from the tools/ folder
 * beside the fixtures folder — same seed, hence the same weights — into <cache>/fixtures, never into the
 * fixtures folder. The export fixes H×W (only the batch axis is dynamic), so each resolution needs its own file.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { defaultCacheDir } from '../../src/weights/fetch.js';
import { ARCHS } from '../../src/model/tables.js';

/** The exporter that made the stored fixtures, as the reference data lays it out: `<dir>/../tools/`. */
const makeFixturesScript = (dir: string) => resolve(dir, '..', 'tools', 'make_fixtures.py');
/** Debian's python3 is the one python3-torch installs into; EFFNET_PYTHON names another with torch. */
const python = () => process.env.EFFNET_PYTHON || '/usr/bin/python3';
const PYTORCH_APT = 'apt-get update && apt-get install -y python3-torch python3-torchvision python3-onnx';

const run = promisify(execFile);

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

/** Path of the ONNX export of `fx` at `res`, made when missing; `skip` says why it cannot be made here. */
export async function ensureOnnx(fx: TorchvisionFixture, res: number, log: (line: string) => void): Promise<{ path: string } | { skip: string }> {
  const stored = join(fx.dir, `${fx.arch}.onnx`);
  if (res === fx.res && existsSync(stored)) return { path: stored };
  const dir = join(await defaultCacheDir(), 'fixtures');
  const name = res === fx.res ? fx.arch : `${fx.arch}_${res}`;
  const target = join(dir, `${name}.onnx`);
  if (existsSync(target)) return { path: target };
  try {
    await run(python(), ['-c', 'import torch, torchvision, onnx']);
  } catch {
    return { skip: `the ${fx.arch} ONNX export at ${res}×${res} is not stored, and making it needs PyTorch (${python()} cannot import torch, torchvision, onnx): run \`${PYTORCH_APT}\`` };
  }
  const script = makeFixturesScript(fx.dir);
  if (!existsSync(script)) {
    return { skip: `the ${fx.arch} ONNX export at ${res}×${res} is not stored in ${fx.dir}, and making it needs make_fixtures.py, which is not at ${script}` };
  }
  log(`bench: ${name}.onnx is not cached: exporting it from torchvision with ${script} into ${dir} (takes a minute or two)`);
  await mkdir(dir, { recursive: true });
  // Made in a temp dir inside the cache and renamed into place, so an interrupted export leaves nothing.
  const tmp = await mkdtemp(join(dir, `.${name}-`));
  try {
    const args = [script, tmp, name, fx.arch, String(res), String(fx.batch), String(fx.seed), fx.dtype, 'ONNX'];
    await run(python(), args, { maxBuffer: 1 << 24 }).catch((e: { stderr?: string; message: string }) => {
      const last = (e.stderr ?? '').trim().split('\n').pop() || e.message;
      throw new Error(`exporting ${name}.onnx with make_fixtures.py failed: ${last}`);
    });
    await rename(join(tmp, `${name}.onnx`), target);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  log(`bench: made ${target}`);
  return { path: target };
}
