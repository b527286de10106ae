/** The `effnet` command line. Each subcommand lives in tools/commands/; errors print as one line. */
import type { Command } from './command.js';
import { infoCommand } from './commands/info.js';
import { verifyCommand } from './commands/verify.js';
import { classifyCommand } from './commands/classify.js';
import { profileCommand } from './commands/profile.js';
import { reportCommand } from './commands/report.js';
import { demoCommand } from './commands/demo.js';
import { benchCommand } from './commands/bench.js';
import { planCommand } from './commands/plan.js';
import { tuneCommand } from './commands/tune.js';
import { kernelBenchCommand } from './commands/kernel-bench.js';
import { exportWeightsCommand } from './commands/export-weights.js';
import { doctorCommand } from './commands/doctor.js';
import { EffnetError } from '../src/errors.js';

declare const __EFFNET_VERSION__: string;

const commands: Command[] = [classifyCommand, demoCommand, profileCommand, reportCommand, benchCommand, planCommand, tuneCommand, kernelBenchCommand, doctorCommand, exportWeightsCommand, verifyCommand, infoCommand];

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'effnet — EfficientNet V1/V2 on hand-written WebGPU kernels',
    '',
    'usage: effnet <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'effnet <command> --help shows a command\'s options. effnet --version prints the version.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    console.log(__EFFNET_VERSION__);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`effnet: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: ${cmd.usage}\n\n${cmd.summary}`);
    return 0;
  }
  return cmd.run(rest);
}

/**
 * Exit once stdout and stderr have handed everything written to them to the OS: process.exit drops what a pipe
 * has not taken yet, which cut a long `--json` report short.
 */
async function exit(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((done) => s.write('', () => done()))));
  process.exit(code);
}

main(process.argv.slice(2)).then(
  (code) => exit(code),
  (e: unknown) => {
    const msg = e instanceof EffnetError ? `${e.message}` : e instanceof Error ? e.message : String(e);
    console.error(`effnet: ${msg}`);
    // A caller that asked for JSON parses stdout: a failure is JSON there too, never an empty or half-written page.
    if (process.argv.includes('--json')) console.log(JSON.stringify({ error: { code: e instanceof EffnetError ? e.code : 'CLI', message: msg } }));
    if (process.env.EFFNET_DEBUG && e instanceof Error) console.error(e.stack);
    return exit(1);
  },
);
