/**
 * Where the CLI runs its jobs (tools/jobs/): in Node, or, with `--host chrome`, in headless Chromium, where the page
 * host (tools/browser/host.ts) runs the same job functions. Local files the page needs (weights, dumps, images) are
 * served read-only under /files/<n> by index, so the page can fetch them by URL.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EffnetError } from '../src/errors.js';
import { readImageFile } from '../src/image/decode.js';
import { isDirectory } from '../src/io/read.js';
import { BROWSER_DIST, openChrome, type ChromeSession } from './harness/index.js';
import { PAGE_LOG, PAGE_PROGRESS, type JobHost, type JobOutcome } from './jobs/host.js';
import { JOBS, type JobInput, type JobName, type JobOutput } from './jobs/index.js';

export interface ChromeHost {
  session: ChromeSession;
  /** URL under which the page can fetch local file `path`. */
  url(path: string): string;
  close(): Promise<void>;
}

export async function openChromeHost(log?: (line: string) => void): Promise<ChromeHost> {
  const files: string[] = [];
  const session = await openChrome(
    { '': BROWSER_DIST },
    {
      log,
      dynamic: async (p) => {
        const m = /^\/files\/(\d+)(\/.*)?$/.exec(p);
        if (!m) return undefined;
        const base = files[Number(m[1])];
        if (base === undefined) return undefined;
        // A TF.js model.json names its shards relative to itself: /files/<n>/<shard> resolves next to it.
        const path = m[2] ? base.replace(/[^/]*$/, '') + m[2].slice(1) : base;
        return new Uint8Array(await readFile(path));
      },
    },
  );
  await session.page.addScriptTag({ url: '/host.js', type: 'module' });
  await session.page.waitForFunction('globalThis.effnet !== undefined');
  return {
    session,
    url(path: string) {
      files.push(path);
      return `/files/${files.length - 1}/${path.split('/').pop()}`;
    },
    close: () => session.close(),
  };
}

export type HostName = 'node' | 'chrome';

export function hostFlag(v: string | boolean | undefined): HostName {
  const host = (v as string | undefined) ?? 'node';
  if (host !== 'node' && host !== 'chrome') throw new Error(`--host must be node or chrome, got ${host}`);
  return host;
}

export interface JobOptions {
  /** The job's progress lines (in Chromium also the page's other console output); dropped when absent. */
  log?: (line: string) => void;
  progress?: (done: number, total: number) => void;
}

/** One host running jobs: Node, or one headless Chromium page for all of them. */
export interface JobRunner {
  /** A local file as jobs read it (JobHost.read, .image): its path in Node, its URL in the page. */
  file(path: string): string;
  /** Weights as loadModel takes them there: 'random' and URLs as given; in the page a local file's URL (a TF.js folder's model.json). */
  weights(w: string): Promise<string>;
  run<N extends JobName>(name: N, input: JobInput<N>): Promise<JobOutput<N>>;
  close(): Promise<void>;
}

export async function openJobs(host: HostName, o: JobOptions = {}): Promise<JobRunner> {
  if (host === 'node') {
    const node: JobHost = {
      log: (line) => o.log?.(line),
      progress: (done, total) => o.progress?.(done, total),
      where: (what) => `(${what})`,
      read: async (file) => new Uint8Array(await readFile(file)),
      image: (file, _name, opts) => readImageFile(file, opts),
    };
    return {
      file: (path) => path,
      weights: async (w) => w,
      run: (name, input) => JOBS[name](input as never, node) as Promise<JobOutput<typeof name>>,
      close: async () => undefined,
    };
  }
  o.log?.('starting headless Chromium');
  const chrome = await openChromeHost((line) => {
    const text = line.replace(/^\[chrome log\] /, '');
    if (text !== line && text.startsWith(PAGE_PROGRESS)) {
      const [done, total] = text.slice(PAGE_PROGRESS.length).split('/').map(Number);
      o.progress?.(done!, total!);
    } else if (text !== line && text.startsWith(PAGE_LOG)) {
      o.log?.(text.slice(PAGE_LOG.length));
    } else if (o.log) {
      process.stderr.write(text + '\n');
    }
  });
  return {
    file: (path) => chrome.url(resolve(path)),
    weights: async (w) => (w === 'random' || isUrl(w) ? w : chrome.url((await isDirectory(w)) ? `${w}/model.json` : w)),
    async run(name, input) {
      const out = (await chrome.session.page.evaluate(
        (n, i) => (globalThis as unknown as { effnetJobs: Record<string, (input: unknown) => Promise<JobOutcome>> }).effnetJobs[n]!(i),
        name,
        input as unknown,
      )) as JobOutcome;
      if ('error' in out) throw out.error.code ? new EffnetError(out.error.code, out.error.message) : new Error(out.error.message);
      return out.value as JobOutput<typeof name>;
    },
    close: () => chrome.close(),
  };
}

/** Runs one job on `host`; `input` builds the job's input there (local files and weights named as that host reads them). */
export async function runJob<N extends JobName>(
  host: HostName,
  name: N,
  input: (jobs: JobRunner) => JobInput<N> | Promise<JobInput<N>>,
  o: JobOptions = {},
): Promise<JobOutput<N>> {
  const jobs = await openJobs(host, o);
  try {
    return await jobs.run(name, await input(jobs));
  } finally {
    await jobs.close();
  }
}

export const isUrl = (s: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
