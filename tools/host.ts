/**
 * `--host chrome`: run engine code inside headless Chromium. Local files the page needs (weights, dumps,
 * images) are served read-only under /files/<n> by index, so the page can fetch them by URL.
 */
import { readFile } from 'node:fs/promises';
import { BROWSER_DIST, openChrome, type ChromeSession } from './harness/index.js';

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
