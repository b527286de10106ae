/**
 * `effnet doctor` as a user runs it, in Node (Dawn) and in headless Chromium: the adapter, what the engine uses
 * on it, and the self-test of every variant of one model's quick and tuned schedules. Chromium's SwiftShader has
 * the subgroups feature, so there the GPU target's pool_subgroup is self-tested on a device too.
 */
import { describe, expect, test } from 'vitest';
import { effnet } from './support/cli.js';

interface Report {
  adapter: { isFallback: boolean; host: string; features: { subgroups: boolean }; limits: Record<string, number> };
  engine: { target: string; subgroups: boolean; tuning: { source: string; entries: number; warnings: string[] } };
  selfTest: { arch: string; res: number; checked: number; ms: number; compileMs: number; failed: unknown[]; variants: { variant: string; status: string; ms: number }[] };
  tiers: { relL2: number; ok: boolean };
  ok: boolean;
}

const run = async (...args: string[]): Promise<Report> => {
  const r = await effnet('doctor', '--res', '32', ...args, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Report;
};

const checkReport = (r: Report) => {
  expect(r.adapter.isFallback).toBe(true);
  expect(r.adapter.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
  expect(r.selfTest).toMatchObject({ arch: 'efficientnet_b0', res: 32, failed: [] });
  // Both tiers' variants: the quick tier's compact depthwise and the tuned tier's specialised one among them.
  expect(r.selfTest.checked).toBe(r.selfTest.variants.length);
  expect(r.selfTest.checked).toBeGreaterThan(15);
  for (const v of r.selfTest.variants) expect(v.status, v.variant).toBe('pass');
  expect(r.selfTest.variants.map((v) => v.variant.split('|')[0])).toEqual(expect.arrayContaining(['dwconv', 'dwconv_compact', 'se_excite', 'stem']));
  expect(r.tiers.ok).toBe(true);
  expect(r.ok).toBe(true);
};

describe('effnet doctor', () => {
  test('Node: the human report — the software adapter, the GPU target forced, every variant passing', async () => {
    const r = await effnet('doctor', '--res', '32', '--target', 'gpu');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/adapter: .*\(node, software\/fallback adapter\)/);
    // Dawn on SwiftShader leaves subgroups off (they crash it there), so pool runs without them.
    // (Node's tuning cache may hold earlier tests' entries for this adapter.)
    expect(r.stdout).toMatch(/engine: gpu target, subgroup kernels off, tuning .* \(\d+ entries for this adapter\)/);
    expect(r.stdout).toMatch(/self-test: efficientnet_b0 @ 32×32, batch 1, quick and tuned schedules: \d+ variants checked in \d+ ms .*: all passed/);
    expect(r.stdout).toMatch(/quick vs tuned schedule logits: relL2 .* \(within 0\.00001\)/);
    const rows = r.stdout.split('\n').filter((l) => /^\| [a-z_]+\|/.test(l));
    expect(rows.length).toBeGreaterThan(15);
    for (const row of rows) expect(row).toMatch(/ \| pass \| /);
    for (const k of ['pointwise_tiled', 'dwconv', 'dwconv_compact', 'se_excite', 'stem', 'pool', 'softmax']) expect(rows.some((row) => row.startsWith(`| ${k}|`)), k).toBe(k !== 'softmax');
  });

  test('Chromium: the JSON report, with pool_subgroup checked on the device', async () => {
    const r = await run('--host', 'chrome', '--target', 'gpu');
    checkReport(r);
    expect(r.adapter).toMatchObject({ host: 'browser', features: { subgroups: true } });
    expect(r.engine).toMatchObject({ target: 'gpu', subgroups: true, tuning: { source: 'none', entries: 0, warnings: [] } });
    expect(r.selfTest.variants.map((v) => v.variant)).toContain('pool_subgroup|WG=64');
  });

  test('bad arguments are one line, before any GPU work', async () => {
    for (const [args, msg] of [
      [['--target', 'tpu'], /--target must be auto, gpu or fallback, got 'tpu'/],
      [['--res', '4'], /--res must be at least 8/],
      [['--arch', 'resnet50'], /unknown architecture 'resnet50'/],
      [['--host', 'safari'], /--host must be node or chrome/],
    ] as const) {
      const r = await effnet('doctor', ...args);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(msg);
    }
  });
});
