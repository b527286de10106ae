import { describe, expect, test } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePretrainedB0 } from '../src/weights/fetch.js';
import { effnet } from './support/cli.js';

describe('effnet CLI (the built dist/effnet.js)', () => {
  test('--version, --help, unknown command', async () => {
    expect((await effnet('--version')).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await effnet('--help');
    for (const c of ['classify', 'verify', 'info']) expect(help.stdout).toContain(c);
    const bad = await effnet('frobnicate');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown command 'frobnicate'");
  });

  test('info --json gives torchvision-exact parameter counts and per-stage facts', async () => {
    const r = await effnet('info', 'efficientnet_v2_s', '--json');
    const info = JSON.parse(r.stdout);
    expect(info.params).toBe(21458488);
    expect(info.stages[1]).toMatchObject({ name: 'features.1', block: 'fused', repeats: 2, inC: 24, outC: 24 });
  });

  test('classify (Node): a bad image gets one line, the others are still classified', async () => {
    const { samples } = await ensurePretrainedB0();
    const bad = join(mkdtempSync(join(tmpdir(), 'effnet-')), 'broken.jpg');
    writeFileSync(bad, Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2]));
    const car = samples.find((s) => s.endsWith('car.jpg'))!;
    const r = await effnet('classify', car, bad, '--json', '--top', '3');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { image: string; top?: { index: number; label: string }[]; error?: string }[];
    expect(out.find((x) => x.image === car)!.top![0]).toMatchObject({ index: 817, label: 'sports car, sport car' });
    expect(out.find((x) => x.image === bad)!.error).toMatch(/broken\.jpg/);
  });

  test('classify --host chrome: the browser decodes and classifies the sample photo', async () => {
    const { samples } = await ensurePretrainedB0();
    const panda = samples.find((s) => s.endsWith('panda.jpg'))!;
    const r = await effnet('classify', panda, '--host', 'chrome', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { top: { index: number; prob: number }[] }[];
    expect(out[0]!.top[0]!.index).toBe(388);
    expect(out[0]!.top).toHaveLength(5);
  });

  test('bench: the fixtures folder comes from --fixtures or EFFNET_FIXTURES, checked before Chromium starts', async () => {
    const saved = process.env.EFFNET_FIXTURES;
    delete process.env.EFFNET_FIXTURES;
    const none = await effnet('bench', '--peers', 'ort-wasm').finally(() => {
      if (saved !== undefined) process.env.EFFNET_FIXTURES = saved;
    });
    expect(none.code).toBe(1);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toContain('pass --fixtures DIR (or set EFFNET_FIXTURES)');
    const missing = await effnet('bench', '--fixtures', '/nonexistent/fixtures');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--fixtures /nonexistent/fixtures: no such folder');
    const help = await effnet('bench', '--help');
    expect(help.stdout).toContain('--fixtures DIR');
  });

  test('demo: a bad arch, port, backend or weights path is one line before anything is served', async () => {
    const arch = await effnet('demo', '--arch', 'efficientnet_b99', '--port', '0');
    expect(arch.code).toBe(1);
    expect(arch.stderr).toMatch(/^effnet: .*efficientnet_b99/);
    const port = await effnet('demo', '--port', '99999');
    expect(port.code).toBe(1);
    expect(port.stderr).toContain('--port must be 0..65535');
    // The same parser, and message, as every other command's --backend.
    const backend = await effnet('demo', '--port', '0', '--backend', 'tpu');
    expect(backend.code).toBe(1);
    expect(backend.stderr).toMatch(/^effnet: --backend must be auto, webgpu or cpu, got tpu\n$/);
    const weights = await effnet('demo', '--port', '0', '--weights', '/nonexistent/model.safetensors');
    expect(weights.code).toBe(1);
    expect(weights.stderr).toContain('cannot read the weights /nonexistent/model.safetensors');
  });
});
