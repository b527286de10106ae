/** Run the built CLI (dist/effnet.js) as a child process; never rejects, so tests can assert on failures. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const cli = fileURLToPath(new URL('../../dist/effnet.js', import.meta.url));

export function effnet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [cli, ...args], { maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Each `args` fails with exactly one stderr line, `effnet: …`, matching its message. */
export async function expectOneLineErrors(cases: [string[], RegExp][]): Promise<void> {
  for (const [args, message] of cases) {
    const r = await effnet(...args);
    expect(r.code, args.join(' ')).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines, args.join(' ')).toHaveLength(1);
    expect(lines[0]).toMatch(/^effnet: /);
    expect(lines[0]).toMatch(message);
  }
}
