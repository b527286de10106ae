/**
 * Minimal flag parser shared by every subcommand: `--key value`, `--key=value`, boolean `--flag`,
 * and positionals. Unknown flags are an error so that a typo never silently changes what runs.
 */
export function parseFlags(
  args: string[],
  spec: { strings?: string[]; booleans?: string[] },
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
  return { flags, positionals };
}
