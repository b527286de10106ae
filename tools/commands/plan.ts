/**
 * `effnet plan`: the schedule made inspectable — every launch of one inference with its op, kernel, overrides,
 * workgroup size and count, invocations, accumulators per invocation, FLOPs and bytes (src/runtime/plan.ts).
 */
import { acquireGpu } from '../../src/gpu.js';
import { getArch } from '../../src/model/tables.js';
import type { LaunchTarget } from '../../src/kernels/launch.js';
import { planSchedule, WIDE_LAUNCH_WORKGROUPS } from '../../src/runtime/plan.js';
import { resFlag, targetFlag, type Command } from '../command.js';
import { intFlag, parseFlags } from '../harness/index.js';
import { webgpuOnly } from '../webgpu-only.js';

const USAGE =
  'effnet plan --arch A [--res R] [--batch N] [--target gpu|fallback|auto] [--tier tuned|quick] [--no-subgroups] [--backend webgpu|auto] [--json]\n\n' +
  '  --target  gpu: a hardware GPU\'s schedule (default); fallback: SwiftShader\'s; auto: this machine\'s adapter (acquires it)\n' +
  '  --no-subgroups  plan without subgroup kernels (as loadModel({ subgroups: false }) runs)\n' +
  '  --json    {arch, res, batch, target, tier, subgroups, launches: [{op, kernel, overrides, workgroupSize, workgroups, invocations,\n' +
  '            accumulators, serialSteps, flops, bytes}], totals: {dispatches, narrow: [{op, workgroups, dispatch}], serialSteps, flops, bytes}}\n\n' +
  '  serial: the longest chain of dependent steps one invocation walks (K steps, reduction slots, rows; the kernel\'s\n' +
  `  '// Serial:' line). The totals say what bounds batch-1 latency on a big GPU: dispatches (each a barrier), launches\n` +
  `  under ${WIDE_LAUNCH_WORKGROUPS} workgroups (an H100's SMs) and the serial steps summed along the schedule.`;

export const planCommand: Command = {
  name: 'plan',
  summary: 'Every kernel launch of one inference: workgroups, invocations, accumulators, serial steps, FLOPs, bytes; latency totals',
  usage: USAGE,
  async run(args) {
    const { flags } = parseFlags(args, { flagsOnly: 'plan', strings: ['arch', 'res', 'batch', 'target', 'tier', 'backend'], booleans: ['json', 'no-subgroups'] });
    webgpuOnly('plan', flags.backend, (s) => process.stderr.write(`effnet: ${s}\n`));
    if (flags.arch === undefined) throw new Error(`plan needs --arch\nusage: ${USAGE}`);
    const spec = getArch(flags.arch as string);
    const res = resFlag(flags.res, spec.resolution);
    const batch = intFlag(flags.batch, 'batch', 1);
    const want = targetFlag(flags.target, ['gpu', 'fallback', 'auto'], 'gpu');
    const tier = (flags.tier as string | undefined) ?? 'tuned';
    if (tier !== 'tuned' && tier !== 'quick') throw new Error(`--tier must be tuned or quick, got '${tier}'`);
    let target: LaunchTarget;
    if (want === 'auto') {
      const gpu = await acquireGpu();
      target = { isFallback: gpu.report.isFallback, subgroups: gpu.report.features.subgroups && !flags['no-subgroups'], tier };
      gpu.destroy();
    } else {
      target = { isFallback: want === 'fallback', subgroups: want === 'gpu' && !flags['no-subgroups'], tier };
    }
    const plan = planSchedule(spec, { res, batch, target });
    if (flags.json) {
      console.log(JSON.stringify(plan, null, 1));
      return 0;
    }
    const header = ['op', 'kernel', 'workgroup', 'workgroups', 'invocations', 'acc/inv', 'serial', 'MFLOP', 'KB', 'overrides'];
    const rows = plan.launches.map((l) => [
      l.op, l.kernel, String(l.workgroupSize), String(l.workgroups), String(l.invocations), String(l.accumulators), String(Math.round(l.serialSteps)),
      (l.flops / 1e6).toFixed(2), (l.bytes / 1024).toFixed(0),
      Object.entries(l.overrides).map(([k, v]) => `${k}=${v}`).join(' '),
    ]);
    const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)));
    // Names left-aligned, numbers right-aligned, the overrides last as they come.
    const fmt = (r: string[]) => r.map((v, i) => (i < 2 || i === 9 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ').trimEnd();
    console.log(`${plan.arch} @ ${res}×${res}, batch ${batch}: ${plan.target} target, ${plan.tier} tier${plan.subgroups ? ', subgroups' : ''}`);
    console.log([fmt(header), ...rows.map(fmt)].join('\n'));
    const sizes = plan.launches.map((l) => l.workgroupSize);
    console.log(
      `${plan.launches.length} launches; workgroups of ${Math.min(...sizes)}–${Math.max(...sizes)} invocations; ` +
        `at most ${Math.max(...plan.launches.map((l) => l.accumulators))} accumulators per invocation; ` +
        `fewest invocations in one launch ${Math.min(...plan.launches.map((l) => l.invocations))}`,
    );
    const t = plan.totals;
    console.log(
      `latency structure: ${t.dispatches} dispatches; ${t.narrow.length} under ${WIDE_LAUNCH_WORKGROUPS} workgroups; ` +
        `${Math.round(t.serialSteps)} serial steps summed along the schedule; ${(t.flops / 1e9).toFixed(2)} GFLOP; ${(t.bytes / 2 ** 20).toFixed(1)} MiB moved`,
    );
    if (t.narrow.length) {
      console.log(`under ${WIDE_LAUNCH_WORKGROUPS} workgroups, and why (the kernel's Dispatch line at this launch):`);
      for (const n of t.narrow) console.log(`  ${n.op}: ${n.workgroups} = ${n.dispatch}`);
    }
    return 0;
  },
};
