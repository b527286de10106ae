/** `effnet verify ... --json` run in-process: its exit code and the report it prints. */
import { vi } from 'vitest';
import type { VerifyReport } from '../../src/verify.js';
import { verifyCommand } from '../../tools/commands/verify.js';

export async function verifyJson(args: string[]): Promise<{ code: number; report: VerifyReport & { host: string } }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    const code = await verifyCommand.run([...args, '--json']);
    return { code, report: JSON.parse(log.mock.calls.map((c) => c.join(' ')).join('\n')) };
  } finally {
    log.mockRestore();
  }
}
