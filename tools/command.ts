/** One `effnet` subcommand. `run` returns the process exit code; errors it throws are printed by the CLI as one line. */
import { existsSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { intFlag } from './harness/index.js';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

export type Target = 'auto' | 'gpu' | 'fallback';

/** `--target`: one of `allowed` (listed in that order when it is not), `fallback` when absent. */
export function targetFlag(v: string | boolean | undefined, allowed: readonly Target[] = ['auto', 'gpu', 'fallback'], fallback: Target = 'auto'): Target {
  const target = (v as string | undefined) ?? fallback;
  if (!(allowed as readonly string[]).includes(target)) {
    throw new Error(`--target must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, got '${target}'`);
  }
  return target as Target;
}

/** `--res`: an input size the network can take, `fallback` (the architecture's own) when absent. */
export function resFlag(v: string | boolean | undefined, fallback: number): number {
  const res = intFlag(v, 'res', fallback);
  if (res < 8) throw new Error(`--res must be at least 8 (EfficientNet downsamples 32×), got ${res}`);
  return res;
}

/** The report format `--out` asks for by its extension, checked before any GPU work so that a typo costs nothing. */
export function outputFormat(out: string, allowed: string[]): string {
  const ext = extname(out).toLowerCase();
  if (!allowed.includes(ext)) throw new Error(`--out ${out}: unsupported extension '${ext || '(none)'}'; use ${allowed.join(', ')}`);
  if (!existsSync(dirname(out))) throw new Error(`--out ${out}: folder ${dirname(out)} does not exist`);
  return ext;
}
