/** Browser side of the Chromium test harness: runs named kernel cases on navigator.gpu. */
import { acquireGpu, type Gpu } from '../../src/gpu.js';
import { KernelLibrary } from '../../src/kernels/library.js';
import { ALL_CASES } from '../kernels/all.cases.js';
import { runCase, type CaseResult } from '../kernels/case.js';

let ready: Promise<{ gpu: Gpu; lib: KernelLibrary }> | undefined;
const setup = () => (ready ??= acquireGpu().then((gpu) => ({ gpu, lib: new KernelLibrary(gpu.device) })));

const api = {
  async adapter() {
    return (await setup()).gpu.report;
  },
  caseNames(tag?: string): string[] {
    return ALL_CASES.filter((c) => !tag || c.tags.includes(tag as never)).map((c) => c.name);
  },
  async run(names: string[]): Promise<CaseResult[]> {
    const { lib, gpu } = await setup();
    const out: CaseResult[] = [];
    for (const name of names) {
      const c = ALL_CASES.find((x) => x.name === name);
      if (!c) {
        out.push({ name, ok: false, messages: ['no such case'], ms: 0 });
        continue;
      }
      const missing = c.needs?.filter((f) => !gpu.device.features.has(f)) ?? [];
      if (missing.length) {
        out.push({ name, ok: false, skipped: true, messages: [`this adapter lacks ${missing.join(', ')}`], ms: 0 });
        continue;
      }
      const r = await runCase(lib, c);
      const errs = gpu.takeErrors();
      if (errs.length) out.push({ ...r, ok: false, messages: [...r.messages, ...errs.map((e) => e.message)] });
      else out.push(r);
    }
    return out;
  },
};

(globalThis as unknown as { effnetTests: typeof api }).effnetTests = api;
