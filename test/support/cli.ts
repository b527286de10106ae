/** Run the built CLI (dist/effnet.js) as a child process; never rejects, so tests can assert on failures. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../dist/effnet.js', import.meta.url));

export function effnet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [cli, ...args], { maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
