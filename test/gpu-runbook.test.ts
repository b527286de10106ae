/**
 * bench/gpu-runbook.sh, driven by a stub effnet CLI (test/support/runbook-stub.sh) with no kit: a device call is
 * one expensive try at a lent GPU, so whatever fails, hangs or is killed, the runbook must still return every
 * result finished before it, within the 8 files that come back. No GPU and no build needed; seconds per run.
 */
import { describe, expect, test } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../bench/gpu-runbook.sh', import.meta.url));
const stub = fileURLToPath(new URL('./support/runbook-stub.sh', import.meta.url));

interface Outcome {
  code: number;
  out: string;
  results: Record<string, any>;
  summary: string;
  files: string[];
  /** Every effnet command line the runbook ran, in order. */
  calls: string[];
  stderr: string;
}

/** The runbook's environment: no kit, the stub as effnet, and none of the caller's EFFNET_RUNBOOK_* settings. */
function environment(dir: string, env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EFFNET_RUNBOOK_') && !k.startsWith('STUB_')));
  return { ...base, EFFNET_RUNBOOK_KIT: 'none', EFFNET_RUNBOOK_CLI: `bash ${stub}`, STUB_LOG: join(dir, 'calls.log'), ...env };
}

function collect(dir: string, out: string, code: number, stderr: string, summaryName = 'summary.md'): Outcome {
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  return {
    code,
    out,
    results: existsSync(join(out, 'results.json')) ? JSON.parse(read(join(out, 'results.json'))) : {},
    summary: read(join(out, summaryName)),
    files: existsSync(out) ? readdirSync(out).sort() : [],
    calls: read(join(dir, 'calls.log')).split('\n').filter(Boolean),
    stderr,
  };
}

function runbook(mode: 'run' | 'reports', env: Record<string, string> = {}): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'effnet-runbook-test-'));
  const out = join(dir, 'out');
  return new Promise((ok) => {
    execFile('bash', [script, mode, out], { env: environment(dir, env) }, (err, _stdout, stderr) => {
      ok(collect(dir, out, err ? ((err as { code?: number }).code ?? 1) : 0, stderr, mode === 'reports' ? 'reports.md' : 'summary.md'));
    });
  });
}

const PLANNED = ['profile-b0-b1', 'profile-b0-b8', 'profile-v2s-b1', 'profile-v2s-b8'];
const OUT_FILES = ['results.json', 'summary.md', 'runbook.log', 'doctor.json', 'tuning.json', 'profile-b0-detail.html', 'profile-v2s-detail.html', 'bench.md'];

// The runs are independent (each its own folders, no kit) and mostly wait on processes: side by side they
// keep this file at about 20 s on a busy 2-core machine.
describe.concurrent('gpu-runbook.sh run', () => {
  test('a failing step, a hanging step and a subgroup failure are each recorded, and every later step still runs', async ({ expect }) => {
    const r = await runbook('run', {
      // profile-b0-b8 breaks only with subgroups; profile-v2s-b1 hangs (its 45 s timeout × 0.05 kills it);
      // tune-b0 fails whatever the flags.
      STUB_FAIL_SUBGROUPS: 'profile --arch efficientnet_b0 --res 224 --batch 8 .*--tuning none',
      STUB_HANG: 'profile --arch efficientnet_v2_s --res 384 --batch 1 .*--tuning none',
      STUB_FAIL: 'tune --arch efficientnet_b0',
      EFFNET_RUNBOOK_TIMEOUT_SCALE: '0.05',
    });
    // The preflight passed and steps measured: success, even with three broken steps.
    expect(r.code, r.stderr).toBe(0);
    const res = r.results;

    // (a) the failure keeps what ran before it, and what comes after it runs.
    expect(res['profile-b0-b1']).toMatchObject({ arch: 'efficientnet_b0', batch: 1, totalMs: 1.25 });
    expect(res['tune-b0']).toMatchObject({ exit: 1 });
    expect(res['tune-b0'].error).toMatch(/^DEVICE_LOST: stub failure of 'tune --arch efficientnet_b0/);
    expect(res['profile-b0-b1-tuned'].skipped).toMatch(/tune-b0 failed/);
    expect(res['tune-v2s']).toMatchObject({ arch: 'efficientnet_v2_s', tuned: 8, accepted: true });
    expect(res['profile-v2s-b8-tuned']).toMatchObject({ batch: 8, schedule: { tuning: { entries: 3 } } });
    expect(res['detail-v2s']).toMatchObject({ arch: 'efficientnet_v2_s' });
    expect(r.summary).toMatch(/- tune-b0: FAILED \(exit 1, [\d.]+ s\): DEVICE_LOST/);
    expect(r.summary).toMatch(/\| profile-b0-b1 \| gpu \| 0 \| on \| 1 \| 1\.250 \| 1\.500 \|/);

    // (b) the hang is killed by its own timeout and recorded as such; the next step ran.
    expect(res['profile-v2s-b1'].error).toMatch(/^timed out after 2\.25 s; last said: effnet: compiling/);
    expect(res['profile-v2s-b1'].exit).toBe(124);
    expect(res['profile-v2s-b1'].seconds).toBeLessThan(5);
    expect(r.summary).toMatch(/- profile-v2s-b1: TIMED OUT \(exit 124/);
    expect(res['profile-v2s-b8']).toMatchObject({ batch: 8 });
    // A timeout is not retried without subgroups: it ran exactly once.
    expect(r.calls.filter((c) => /^profile --arch efficientnet_v2_s --res 384 --batch 1 .*--tuning none/.test(c))).toHaveLength(1);

    // (d) the subgroup failure is retried with --no-subgroups, both attempts are recorded, and every later
    // effnet command gets --no-subgroups (the earlier ones did not).
    const attempts = res.runbook.steps.filter((s: any) => s.name === 'profile-b0-b8');
    expect(attempts.map((s: any) => [s.attempt, s.subgroups, s.status])).toEqual([[1, true, 'failed'], [2, false, 'ok']]);
    expect(attempts[0].error).toMatch(/GPU_VALIDATION: subgroup shader failed/);
    expect(res['profile-b0-b8']).toMatchObject({ batch: 8, totalMs: 10 });
    const retry = r.calls.findIndex((c) => c.startsWith('profile --arch efficientnet_b0 --res 224 --batch 8') && c.endsWith('--no-subgroups'));
    expect(retry).toBeGreaterThan(0);
    expect(r.calls.slice(0, retry).every((c) => !c.includes('--no-subgroups'))).toBe(true);
    const later = r.calls.slice(retry + 1).filter((c) => /^(doctor|plan|profile|tune) /.test(c));
    expect(later.length).toBeGreaterThanOrEqual(8);
    expect(later.every((c) => c.endsWith('--no-subgroups'))).toBe(true);
    expect(r.summary).toContain('subgroups switched off: profile-b0-b8 failed with them on and passed with --no-subgroups');
    expect(r.summary).toMatch(/\| profile-b0-b8 \| gpu \| 0 \| off \| 8 \|/);

    // (e) what comes back: only the named files, never more than 8 (bench.md because this machine has chromium).
    expect(r.files.length).toBeLessThanOrEqual(8);
    for (const f of r.files) expect(OUT_FILES).toContain(f);
    expect(r.files).toEqual(expect.arrayContaining(['results.json', 'summary.md', 'runbook.log', 'doctor.json', 'tuning.json', 'profile-b0-detail.html', 'profile-v2s-detail.html']));
    expect(JSON.parse(readFileSync(join(r.out, 'doctor.json'), 'utf8'))).toMatchObject({ doctor: { adapter: { isFallback: false } }, verdict: { adapter: 'hardware', proceed: true } });
  });

  test('a run killed mid-step (the device call\'s time limit) has already returned every step finished before', async ({ expect }) => {
    const dir = mkdtempSync(join(tmpdir(), 'effnet-runbook-test-'));
    const out = join(dir, 'out');
    const pidfile = join(dir, 'stub.pid');
    // tune-b0 hangs far longer than the test waits: the kill, not its timeout, ends the run. (And
    // EFFNET_RUNBOOK_SUBGROUPS=0 switches subgroups off from the start: every command so far has the flag.)
    // (TMPDIR: the runbook's work folder, which the kill leaves behind, stays inside this test's folder.)
    const env = environment(dir, { STUB_HANG: '^tune --arch efficientnet_b0', STUB_PIDFILE: pidfile, EFFNET_RUNBOOK_SUBGROUPS: '0', TMPDIR: dir });
    const child = spawn('bash', [script, 'run', out], { env, detached: true, stdio: 'ignore' });
    const exited = new Promise((ok) => child.on('exit', ok));
    const deadline = Date.now() + 25_000;
    while (!existsSync(pidfile) && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 100));
    expect(existsSync(pidfile)).toBe(true);
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
    // `timeout` keeps the hanging command in a process group of its own: end it here too.
    try {
      process.kill(Number(readFileSync(pidfile, 'utf8')), 'SIGKILL');
    } catch {
      /* already gone */
    }
    const r = collect(dir, out, 0, '');
    for (const name of PLANNED) expect(r.results[name], name).toMatchObject({ totalMs: expect.any(Number) });
    expect(r.results['tune-b0']).toBeUndefined();
    expect(r.results.preflight.doctor.adapter.description).toBe('NVIDIA H200');
    for (const name of PLANNED) expect(r.summary).toContain(`| ${name} |`);
    // No half-written or temporary file among what comes back.
    expect(r.files).toEqual(['doctor.json', 'results.json', 'runbook.log', 'summary.md']);
    expect(r.calls.map((c) => c.split(' ')[0])).toEqual(['doctor', 'plan', 'profile', 'profile', 'profile', 'profile', 'tune']);
    expect(r.calls.every((c) => c.endsWith('--no-subgroups'))).toBe(true);
    expect(r.summary).toContain('subgroups off from the start (EFFNET_RUNBOOK_SUBGROUPS=0)');
    expect(r.summary).toMatch(/\| profile-b0-b1 \| gpu \| 0 \| off \| 1 \|/);
  });

  test('a software adapter skips the heavy steps with the reason, unless it is the quick dry run', async ({ expect }) => {
    const skipped = await runbook('run', { STUB_SOFTWARE: '1' });
    expect(skipped.code).toBe(1);
    expect(skipped.results.preflight.verdict).toMatchObject({ adapter: 'software', proceed: false });
    for (const name of [...PLANNED, 'tune-b0', 'tune-v2s', 'profile-b0-b1-tuned', 'detail-b0', 'detail-v2s']) {
      expect(skipped.results[name]?.skipped, name).toMatch(/the adapter is a software one \(google \/ swiftshader .*SwiftShader/);
    }
    // Only the cheap steps ran: doctor and the plan.
    expect(skipped.calls.map((c) => c.split(' ')[0])).toEqual(['doctor', 'plan']);
    expect(skipped.summary).toContain('Verdict: heavy steps SKIPPED (the adapter is a software one');
    expect(skipped.summary).toMatch(/- profile-b0-b1: SKIPPED: the adapter is a software one/);
    expect(skipped.files).toEqual(['doctor.json', 'results.json', 'runbook.log', 'summary.md']);

    // The dry run expects SwiftShader: it measures, at toy sizes, and leaves the peers benchmark out. A failing
    // tune there is not retried without subgroups: doctor said the engine runs no subgroup kernels on it.
    const quick = await runbook('run', { STUB_SOFTWARE: '1', EFFNET_RUNBOOK_QUICK: '1', STUB_FAIL: '^tune --arch efficientnet_b0' });
    expect(quick.code, quick.stderr).toBe(0);
    expect(quick.results.preflight.verdict).toMatchObject({ adapter: 'software', proceed: true });
    expect(quick.results.preflight.verdict.reason).toMatch(/measuring anyway \(EFFNET_RUNBOOK_QUICK\)/);
    for (const name of PLANNED) expect(quick.results[name], name).toMatchObject({ res: 64, totalMs: expect.any(Number) });
    expect(quick.calls.filter((c) => c.startsWith('profile ')).every((c) => c.includes('--res 64') && c.includes('--runs 3'))).toBe(true);
    expect(quick.calls.find((c) => c.startsWith('tune '))).toContain('--budget-s 10');
    expect(quick.results.bench.skipped).toBe('quick dry run: the peers benchmark runs at full sizes only');
    expect(quick.summary).toMatch(/^# GPU runbook: run \(quick dry run/);
    expect(quick.results.preflight.verdict.subgroupKernels).toBe('off');
    expect(quick.calls.filter((c) => c.startsWith('tune --arch efficientnet_b0'))).toHaveLength(1);
    expect(quick.calls.some((c) => c.includes('--no-subgroups'))).toBe(false);
    expect(quick.results['tune-b0'].error).toMatch(/^DEVICE_LOST/);
    expect(quick.results['profile-v2s-b8-tuned']).toMatchObject({ res: 64, batch: 8 });
    expect(quick.summary).toMatch(/\| profile-b0-b1 \| gpu \| 0 \| unused \| 1 \|/);
  });

  test('no adapter at all: doctor retried without subgroups, then the heavy steps are skipped and the run fails', async ({ expect }) => {
    const r = await runbook('run', { STUB_NO_ADAPTER: '1' });
    expect(r.code).toBe(1);
    // The first shader-free look at the machine is doctor; a crash there gets the same retry as any step.
    expect(r.calls.filter((c) => c.startsWith('doctor ')).map((c) => c.endsWith('--no-subgroups'))).toEqual([false, true]);
    expect(r.results.preflight.doctor.error).toMatch(/^NO_ADAPTER: no WebGPU adapter/);
    // Here dawn.node is this checkout's (no kit): its libraries resolve, so the preflight names the adapter as the problem.
    expect(r.results.preflight.dawn.missing).toEqual([]);
    expect(r.results['profile-b0-b1'].skipped).toMatch(/^doctor got no adapter: NO_ADAPTER/);
    expect(r.summary).toMatch(/- note: doctor failed with and without subgroups/);
  });
});

describe('gpu-runbook.sh reports', () => {
  test('each report kind is written when it finishes; a failing one is recorded and the others still run', async () => {
    // On a software adapter the reports would be skipped like run's heavy steps; EFFNET_RUNBOOK_ALLOW_SOFTWARE
    // measures anyway.
    const r = await runbook('reports', { STUB_FAIL: '^report sweep', STUB_SOFTWARE: '1', EFFNET_RUNBOOK_ALLOW_SOFTWARE: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.results.preflight.verdict.reason).toMatch(/measuring anyway \(EFFNET_RUNBOOK_ALLOW_SOFTWARE\)/);
    expect(r.files).toEqual(['doctor.json', 'report-fused-ablation.json', 'report-latency-table.json', 'report-v1-vs-v2.json', 'reports.log', 'reports.md', 'results.json']);
    expect(JSON.parse(readFileSync(join(r.out, 'report-v1-vs-v2.json'), 'utf8'))).toEqual({ kind: 'v1-vs-v2', rows: [] });
    expect(r.results['report-sweep'].error).toMatch(/^DEVICE_LOST: stub failure of 'report sweep/);
    expect(r.results['report-latency-table']).toMatchObject({ file: 'report-latency-table.json' });
    expect(r.summary).toMatch(/- report-sweep: FAILED \(exit 1/);
    // Each finished report's Markdown, rendered by `effnet report --from`, is in reports.md.
    expect(r.summary).toContain(`## stub report from ${join(r.out, 'report-latency-table.json')}`);
    expect(r.summary).toContain(`## stub report from ${join(r.out, 'report-v1-vs-v2.json')}`);
  });
});
