import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { openChrome, type ChromeSession } from '../tools/harness/index.js';
import { ALL_CASES } from './kernels/all.cases.js';
import type { CaseResult } from './kernels/case.js';
import type { AdapterReport } from '../src/gpu.js';

// CI runs the representative subset tagged 'chrome'; EFFNET_CHROME_ALL=1 runs every case in the browser.
const cases = ALL_CASES.filter((c) => process.env.EFFNET_CHROME_ALL === '1' || c.tags.includes('chrome'));
const dist = fileURLToPath(new URL('../dist/browser/', import.meta.url));

type Api = { adapter(): Promise<AdapterReport>; run(names: string[]): Promise<CaseResult[]> };

describe('kernels in headless Chromium (WebGPU)', () => {
  let chrome: ChromeSession;
  let results = new Map<string, CaseResult>();
  beforeAll(async () => {
    chrome = await openChrome({ '': dist });
    await chrome.page.addScriptTag({ url: '/tests.js', type: 'module' });
    await chrome.page.waitForFunction('globalThis.effnetTests !== undefined');
    const all = await chrome.page.evaluate(
      (names) => (globalThis as unknown as { effnetTests: Api }).effnetTests.run(names),
      cases.map((c) => c.name),
    );
    results = new Map(all.map((r) => [r.name, r]));
  });
  afterAll(async () => chrome?.close());

  test('navigator.gpu gives an adapter and its report', async () => {
    const report = await chrome.page.evaluate(() => (globalThis as unknown as { effnetTests: Api }).effnetTests.adapter());
    expect(report.host).toBe('browser');
    expect(report.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(chrome.errors).toEqual([]);
  });

  for (const c of cases) {
    test(c.name, (ctx) => {
      const r = results.get(c.name);
      expect(r, 'case did not run').toBeDefined();
      if (r!.skipped) ctx.skip();
      expect(r!.ok, r!.messages.join('\n')).toBe(true);
    });
  }
});
