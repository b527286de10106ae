/**
 * The page host for `--host chrome`: the engine as the page global `effnet`, and the CLI's jobs (tools/jobs/) as
 * `effnetJobs`, which the CLI calls with puppeteer's page.evaluate. A job here reads local files by the URLs the
 * CLI serves them at, and reports progress as console lines the CLI turns back into its own (tools/host.ts).
 */
import * as effnet from '../../src/index.js';
import { isEffnetError } from '../../src/errors.js';
import { decodeImage } from '../../src/image/decode.js';
import { PAGE_LOG, PAGE_PROGRESS, type JobHost, type JobOutcome } from '../jobs/host.js';
import { JOBS } from '../jobs/index.js';

async function fetchBytes(url: string, what: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`cannot read ${what} (HTTP ${r.status})`);
  return new Uint8Array(await r.arrayBuffer());
}

const host: JobHost = {
  log: (line) => console.log(PAGE_LOG + line),
  progress: (done, total) => console.log(`${PAGE_PROGRESS}${done}/${total}`),
  where: () => 'in headless Chromium',
  read: (url) => fetchBytes(url, url),
  image: async (url, name, opts) => decodeImage(await fetchBytes(url, 'the image file'), name, opts),
};

/** A job's result or error as plain data, so the CLI throws the same one-line error it would in Node. */
const settle = (run: Promise<unknown>): Promise<JobOutcome> =>
  run.then(
    (value) => ({ value }),
    (e: unknown) => ({ error: { code: isEffnetError(e) ? e.code : null, message: e instanceof Error ? e.message : String(e) } }),
  );

(globalThis as unknown as { effnet: typeof effnet }).effnet = effnet;
(globalThis as unknown as { effnetJobs: Record<string, (input: unknown) => Promise<JobOutcome>> }).effnetJobs = Object.fromEntries(
  Object.entries(JOBS).map(([name, job]) => [name, (input: unknown) => settle(job(input as never, host))]),
);
