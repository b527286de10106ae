/**
 * Minimal flag parser shared by every subcommand: `--key value`, `--key=value`, boolean `--flag`,
 * and positionals. Unknown flags are an error so that a typo never silently changes what runs. No imports: the
 * demo page (tools/browser/demo.ts) bundles this module for its backend names.
 */
export function parseFlags(
  args: string[],
  spec: {
    strings?: string[];
    booleans?: string[];
    /** The command's name when it takes flags only: a positional argument is then an error naming it. */
    flagsOnly?: string;
  },
): { flags: Record<string, string | boolean>; positionals: string[] } {
  const strings = new Set(spec.strings ?? []);
  const booleans = new Set(spec.booleans ?? []);
  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const key = a.slice(2, eq < 0 ? undefined : eq);
    if (booleans.has(key)) {
      if (eq >= 0) throw new Error(`flag --${key} takes no value`);
      flags[key] = true;
    } else if (strings.has(key)) {
      const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
      if (value === undefined) throw new Error(`flag --${key} needs a value`);
      flags[key] = value;
    } else {
      throw new Error(`unknown flag --${key}`);
    }
  }
  if (spec.flagsOnly !== undefined && positionals.length) throw new Error(`${spec.flagsOnly} takes no positional arguments, got '${positionals[0]}'`);
  return { flags, positionals };
}

/**
 * An integer flag: `fallback` when absent, else a whole number ≥ `min` (default 1), or an error naming the
 * flag ("--runs must be a positive integer, got 0").
 */
export function intFlag(v: string | boolean | undefined, name: string, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be ${min === 1 ? 'a positive integer' : `an integer ≥ ${min}`}, got ${String(v)}`);
  return n;
}

/** loadModel's backends, as `--backend` and the demo page's `?backend=` name them: the one list of them in tools/. */
export const BACKENDS = ['auto', 'webgpu', 'cpu'] as const;
export type Backend = (typeof BACKENDS)[number];

/** `--backend`: loadModel's backend ('auto' when absent), or an error naming the choices. */
export function backendFlag(v: string | boolean | undefined): Backend {
  if (v === undefined) return 'auto';
  if (isBackend(v)) return v;
  throw new Error(`--backend must be ${BACKENDS.slice(0, -1).join(', ')} or ${BACKENDS[BACKENDS.length - 1]}, got ${String(v)}`);
}

export function isBackend(v: unknown): v is Backend {
  return (BACKENDS as readonly unknown[]).includes(v);
}

/** `--from` and `--mirror` as `pretrained()`'s options (classify and export-weights take both). */
export function pretrainedFlags(flags: Record<string, string | boolean | undefined>): { from?: 'tf-hub' | 'torchvision'; mirror?: string } {
  return {
    ...(flags.from === undefined ? {} : { from: String(flags.from) as 'tf-hub' | 'torchvision' }),
    ...(flags.mirror === undefined ? {} : { mirror: String(flags.mirror) }),
  };
}
