import { modelInfo } from '../../src/model/info.js';
import { getArch } from '../../src/model/tables.js';
import type { Command } from '../command.js';
import { parseFlags } from '../harness/index.js';

const USAGE = 'effnet info <arch> [--res R] [--json]';

export const infoCommand: Command = {
  name: 'info',
  summary: 'Per-stage parameters, FLOPs and shapes of one architecture',
  usage: USAGE,
  async run(args) {
    const { flags, positionals } = parseFlags(args, { strings: ['res'], booleans: ['json'] });
    if (positionals.length !== 1) throw new Error(`usage: ${USAGE}`);
    const spec = getArch(positionals[0]!);
    const res = flags.res === undefined ? spec.resolution : Number(flags.res);
    if (!Number.isInteger(res) || res <= 0) throw new Error(`--res must be a positive integer, got '${flags.res}'`);
    const info = modelInfo(spec, res);
    if (flags.json) {
      console.log(JSON.stringify(info, null, 2));
      return 0;
    }

    const header = ['stage', 'block', 'repeats', 'channels', 'stride', 'expand', 'kernel', 'se', 'params', 'MFLOPs'];
    const rows = info.stages.map((s) => [
      s.name, s.block, String(s.repeats), `${s.inC}→${s.outC}`, String(s.stride), String(s.expand), String(s.kernel),
      String(s.se), s.params.toLocaleString('en-US'), (s.flops / 1e6).toFixed(1),
    ]);
    const total = ['total', '', '', '', '', '', '', '', info.params.toLocaleString('en-US'), (info.flops / 1e6).toFixed(1)];
    const table = [header, ...rows, total];
    const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
    // Text columns left-aligned, numbers right-aligned.
    const fmt = (r: string[]) => r.map((v, i) => (i < 2 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
    const rule = widths.map((w) => '-'.repeat(w)).join('  ');
    console.log(`${info.arch} @ ${info.resolution}×${info.resolution}, ${spec.padding} padding, BN eps ${spec.bnEps}`);
    console.log([fmt(header), rule, ...rows.map(fmt), rule, fmt(total)].join('\n'));
    const { peak } = info.activations;
    console.log(`${(info.flops / 1e9).toFixed(2)} GFLOPs, peak activation ${peak.elements.toLocaleString('en-US')} elements (${peak.name})`);
    if (info.published) {
      const p = info.published;
      const ours = `${(info.params / 1e6).toFixed(2)} M params, ${(info.flops / 2e9).toFixed(2)} G multiply-adds`;
      console.log(`${p.source}: ${(p.params / 1e6).toFixed(2)} M params, ${(p.macs / 1e9).toFixed(2)} G multiply-adds (ours: ${ours})`);
    }
    return 0;
  },
};
