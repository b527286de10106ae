import { describe, expect, test } from 'vitest';
import { ALL_CASES } from './kernels/all.cases.js';
import { runCase } from './kernels/case.js';
import { useNodeGpu } from './support/node-gpu.js';

describe('kernels in Node (Dawn)', () => {
  const { lib, gpu } = useNodeGpu();
  for (const c of ALL_CASES) {
    test(c.name, async (ctx) => {
      // Node leaves 'subgroups' off on SwiftShader (src/gpu.ts); Chromium runs those cases.
      if (c.needs?.some((f) => !gpu().device.features.has(f))) ctx.skip();
      const r = await runCase(lib(), c);
      expect(gpu().takeErrors().map((e) => e.message)).toEqual([]);
      expect(r.ok, r.messages.join('\n')).toBe(true);
    });
  }
});
