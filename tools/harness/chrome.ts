/**
 * Headless Chromium through puppeteer-core, for tests, benchmarks and `--host chrome`: launches the
 * system browser (CHROME_PATH, default /usr/bin/chromium), serves a folder on 127.0.0.1 only, and
 * opens a page there so that WebGPU runs in a secure context.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { stat } from 'node:fs/promises';
import { createReadStream, existsSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'puppeteer-core';
import { EffnetError } from '../../src/errors.js';

const CHROME_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  // Without it Chrome quantises timestamp queries to 100 µs; the profiler wants real resolution.
  '--enable-webgpu-developer-features',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.map': 'application/json',
};

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** What a dynamic route answers: bytes it holds, or a file to stream (read in chunks, never whole). */
export type DynamicResponse = Uint8Array | { file: string };

/**
 * Serve `roots` (URL prefix → folder) on 127.0.0.1; the first root with a '' prefix answers `/`.
 * Read-only: GET and HEAD only (405 otherwise). The Host header must name this server (127.0.0.1:PORT or
 * localhost:PORT): a page on another origin whose DNS name is rebound to 127.0.0.1 sends its own name, and
 * gets 403 instead of the weights and config.
 */
export async function serveStatic(
  roots: Record<string, string>,
  extra?: (path: string) => Promise<DynamicResponse | undefined>,
  port = 0,
): Promise<StaticServer> {
  let bound = port;
  const server: Server = createServer(async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end('method not allowed');
      return;
    }
    if (req.headers.host !== `127.0.0.1:${bound}` && req.headers.host !== `localhost:${bound}`) {
      res.writeHead(403).end('forbidden host');
      return;
    }
    try {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const dynamic = extra && (await extra(path));
      if (dynamic instanceof Uint8Array) {
        res.writeHead(200, { 'content-type': MIME[extname(path)] ?? 'application/octet-stream', 'content-length': dynamic.byteLength });
        res.end(req.method === 'HEAD' ? undefined : dynamic);
        return;
      }
      if (dynamic) {
        await sendFile(req.method, res, dynamic.file, MIME[extname(path)]);
        return;
      }
      const prefix = Object.keys(roots)
        .filter((p) => path.startsWith(`/${p}`))
        .sort((a, b) => b.length - a.length)[0];
      if (prefix === undefined) throw new Error('not found');
      const root = resolve(roots[prefix]!);
      const file = normalize(join(root, path.slice(prefix.length + 1) || 'index.html'));
      // Refuse `..` escapes: only files below a served root are reachable.
      if (file !== root && !file.startsWith(root + sep)) throw new Error('not found');
      await sendFile(req.method, res, file, MIME[extname(file)], {
        // SharedArrayBuffer (wasm threads in peers' runtimes) needs cross-origin isolation.
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      });
    } catch {
      if (!res.headersSent) res.writeHead(404).end('not found');
      else res.destroy();
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(new Error(e.code === 'EADDRINUSE' ? `port ${port} on 127.0.0.1 is already in use (pick another with --port, or 0 for any free one)` : e.message)),
    );
    server.listen(port, '127.0.0.1', ok);
  });
  bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/`,
    // A browser that stopped reading a response (a <video> with enough buffered) keeps its connection busy, and
    // server.close() alone would wait for it to time out (about 100 s, measured): stopping ends every connection.
    close: () =>
      new Promise((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** A regular file, streamed: memory per request stays one chunk however large the file (weight shards). */
async function sendFile(method: string, res: ServerResponse, file: string, type: string | undefined, headers: Record<string, string> = {}): Promise<void> {
  const s = await stat(file);
  if (!s.isFile()) throw new Error('not found');
  res.writeHead(200, { 'content-type': type ?? 'application/octet-stream', 'content-length': s.size, ...headers });
  if (method === 'HEAD') {
    res.end();
    return;
  }
  await pipeline(createReadStream(file), res);
}

export interface ChromeSession {
  browser: Browser;
  page: Page;
  url: string;
  /** Console errors and page errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

function chromePath(): string {
  const path = process.env.CHROME_PATH || '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new EffnetError(
      'NO_WEBGPU',
      `no Chromium at ${path}: install it (Debian: apt-get install -y chromium) or set CHROME_PATH to a Chrome/Chromium binary`,
    );
  }
  return path;
}

/** puppeteer-core is an optional peer dependency: only `--host chrome` and the benchmarks need it. */
async function loadPuppeteer(): Promise<typeof import('puppeteer-core').default> {
  try {
    return (await import('puppeteer-core')).default;
  } catch (cause) {
    throw new EffnetError(
      'NO_WEBGPU',
      'running in headless Chromium needs puppeteer-core: `npm install puppeteer-core` (it drives the system browser, ' +
        'downloads none), and Chromium itself (Debian: apt-get install -y chromium; else set CHROME_PATH to a Chrome binary)',
      { cause },
    );
  }
}

/**
 * Launch headless Chromium and open `page` (default index.html) of a server over `roots`, or, with `url`,
 * a page some other server (e.g. `effnet demo`) already serves.
 */
export async function openChrome(
  roots: Record<string, string>,
  opts: { page?: string; url?: string; extraFlags?: string[]; log?: (line: string) => void; dynamic?: (path: string) => Promise<DynamicResponse | undefined> } = {},
): Promise<ChromeSession> {
  const puppeteer = await loadPuppeteer();
  const server: StaticServer = opts.url ? { url: new URL('/', opts.url).href, close: async () => undefined } : await serveStatic(roots, opts.dynamic);
  let browser: Browser | undefined;
  try {
    browser = await puppeteer.launch({
      executablePath: chromePath(),
      args: [...CHROME_FLAGS, ...(opts.extraFlags ?? [])],
      protocolTimeout: 1_800_000,
    });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
      opts.log?.(`[chrome ${m.type()}] ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.setDefaultTimeout(1_800_000);
    await page.goto(opts.url ?? server.url + (opts.page ?? 'index.html'));
    const b = browser;
    return {
      browser: b,
      page,
      url: server.url,
      errors,
      async close() {
        await b.close().catch(() => undefined);
        await server.close();
      },
    };
  } catch (e) {
    await browser?.close().catch(() => undefined);
    await server.close();
    throw e;
  }
}
