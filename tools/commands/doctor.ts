/**
 * `effnet doctor`: what this machine's WebGPU adapter is, what the engine will use on it, and whether every
 * kernel variant it would run computes the right numbers there (the on-device self-test, tools/jobs/doctor.ts).
 */
import { formatAdapter } from '../../src/gpu.js';
import { getArch } from '../../src/model/tables.js';
import { resFlag, targetFlag, type Command } from '../command.js';
import { intFlag, parseFlags } from '../harness/index.js';
import { hostFlag, runJob } from '../host.js';
import type { DoctorReport } from '../jobs/doctor.js';

const USAGE =
  'effnet doctor [--arch efficientnet_b0] [--res R] [--batch 1] [--target auto|gpu|fallback] [--no-subgroups] [--host node|chrome] [--json]\n\n' +
  '  Prints the adapter (vendor, architecture, software or hardware, features, subgroup sizes, limits), what the\n' +
  '  engine uses on it (target, subgroups, tuning and any dropped tuning entries), and runs the on-device\n' +
  '  self-test over the quick and tuned schedules of --arch (random weights): every compiled kernel variant\n' +
  '  against the float64 reference, and the two schedules\' logits against each other. Exit code 1 when a\n' +
  '  variant failed (the engine then runs its replacement, listed) or the schedules disagree.\n' +
  '  --json  {adapter, engine: {target, subgroups, tuning}, selfTest: {checked, ms, compileMs, failed, variants}, tiers: {relL2}, ok}';

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'The adapter, what the engine uses on it, and the on-device self-test of every kernel variant',
  usage: USAGE,
  async run(args) {
    const { flags } = parseFlags(args, { flagsOnly: 'doctor', strings: ['arch', 'res', 'batch', 'target', 'host'], booleans: ['json', 'no-subgroups'] });
    const arch = getArch((flags.arch as string | undefined) ?? 'efficientnet_b0').name;
    const res = resFlag(flags.res, getArch(arch).resolution);
    const target = targetFlag(flags.target);
    const host = hostFlag(flags.host);
    const job = { arch, res, batch: intFlag(flags.batch, 'batch', 1), target, subgroups: !flags['no-subgroups'] };
    const report = await runJob(host, 'doctor', () => job, { log: (s) => process.stderr.write(`effnet: ${s}\n`) });
    if (flags.json) console.log(JSON.stringify(report, null, 1));
    else print(report);
    return report.ok ? 0 : 1;
  },
};

function print(r: DoctorReport): void {
  const a = r.adapter;
  const sizes = a.subgroupSizes ? ` (subgroup sizes ${a.subgroupSizes.min}–${a.subgroupSizes.max})` : '';
  console.log(`# effnet doctor\n`);
  console.log(`adapter: ${formatAdapter(a)}${sizes}`);
  console.log(`  ${a.isFallback ? 'a software (CPU) adapter: timings here say nothing about a GPU' : 'a hardware adapter'}`);
  console.log(`  limits: ${Object.entries(a.limits).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (a.note) console.log(`  note: ${a.note}`);
  const t = r.engine.tuning;
  console.log(`engine: ${r.engine.target} target, subgroup kernels ${r.engine.subgroups ? 'on' : 'off'}, tuning ${t.source} (${t.entries} entries for this adapter)`);
  for (const w of t.warnings) console.log(`  dropped: ${w}`);
  const s = r.selfTest;
  const failed = s.failed.length;
  console.log(
    `self-test: ${s.arch} @ ${s.res}×${s.res}, batch ${s.batch}, quick and tuned schedules: ${s.checked} variants checked in ${s.ms.toFixed(0)} ms ` +
      `(both schedules compiled and checked in ${(s.compileMs / 1000).toFixed(1)} s): ${failed ? `${failed} FAILED` : 'all passed'}`,
  );
  for (const f of s.failed) console.log(`  FAILED ${f.variant}: ${f.message}\n    runs instead: ${f.replacedBy ?? '(no layer of this schedule used it)'}`);
  console.log(`quick vs tuned schedule logits: relL2 ${r.tiers.relL2.toExponential(2)} (${r.tiers.ok ? 'within' : 'BEYOND'} ${r.tiers.bound})\n`);
  console.log('| variant | self-test | ms | |');
  console.log('| --- | --- | ---: | --- |');
  for (const v of s.variants) console.log(`| ${v.variant} | ${v.status} | ${v.ms.toFixed(1)} | ${v.message} |`);
}
