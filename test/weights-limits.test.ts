/**
 * The limits on a weights read, as data: bytes that declare no size (a PyTorch checkpoint, or whatever starts
 * like a zip) stop at `maxBytes` (default 1 GiB) whether they come as a path, a URL, a Blob or a stream; a size
 * the bytes declare caps the read instead, up to `maxDeclaredBytes`; a silent stream or a stalled server behind a
 * Response ends at the default inactivity timeout with no signal given; progress never passes its total; a
 * redirect is judged where it lands. Each case asserts the error code (or the result), a time bound, that the
 * process's peak memory stays under 1.5 GB, and that a real checkpoint still loads afterwards.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { isEffnetError, type ErrorCode } from '../src/errors.js';
import { DEFAULT_TIMEOUT_MS, readAll, readStream, type ReadPolicy } from '../src/io/read.js';
import { getArch } from '../src/model/tables.js';
import { resolveWeights } from '../src/weights/load.js';
import type { LoadProgress, ResolvedWeights } from '../src/weights/types.js';

const FIXTURES = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));
const B0 = getArch('efficientnet_b0');
const B0_SAFETENSORS = readFileSync(`${FIXTURES}efficientnet_b0.weights.safetensors`);
const dir = mkdtempSync(join(tmpdir(), 'effnet-limits-'));
const ZIP = [0x50, 0x4b, 0x03, 0x04];

/** `n` bytes that start like a zip (a PyTorch checkpoint's signature). */
const zipLike = (n: number) => {
  const b = new Uint8Array(n);
  b.set(ZIP);
  return b;
};

/** A stream of zip-like 1 MiB chunks that never ends. */
function endless(): ReadableStream<Uint8Array> {
  const head = zipLike(1 << 20), rest = new Uint8Array(1 << 20);
  let first = true;
  return new ReadableStream({
    pull(c) {
      c.enqueue(first ? head : rest);
      first = false;
    },
  });
}

/** `bytes` as a stream of 1 MiB chunks. */
function inChunks(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.subarray(at, (at += 1 << 20)));
    },
  });
}

/** A stream that sends a zip signature, then nothing, ever. */
function stalled(): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(c) {
      if (sent) return new Promise(() => undefined);
      sent = true;
      c.enqueue(Uint8Array.from(ZIP));
    },
  });
}

/**
 * `start()` run under fake timers: it must still be pending one millisecond before the default inactivity
 * timeout and settled at it, with no signal given. Returns its outcome.
 */
async function atDefaultTimeout(start: () => Promise<unknown>): Promise<unknown> {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  try {
    let settled = false;
    const p = start().finally(() => (settled = true));
    p.catch(() => undefined);
    await new Promise((r) => setImmediate(r));
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMEOUT_MS - 1);
    expect(settled, 'settled before the default timeout').toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    return await p;
  } finally {
    vi.useRealTimers();
  }
}

let server: Server;
let base = '';
const closed: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    res.on('close', () => closed.push(req.url!));
    if (req.url === '/endless.pth') {
      res.writeHead(200);
      const chunk = Buffer.from(zipLike(1 << 20));
      const more = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', more);
      };
      more();
    } else if (req.url === '/huge.pth') {
      res.writeHead(200, { 'content-length': String(2 ** 31) });
      res.write(Buffer.from(zipLike(1 << 16)));
    } else if (req.url === '/stall.pth') {
      res.writeHead(200);
      res.write(Buffer.from(ZIP));
    } else if (req.url === '/b0.safetensors') {
      res.writeHead(200, { 'content-length': String(B0_SAFETENSORS.length) });
      res.end(B0_SAFETENSORS);
    } else if (req.url === '/same.safetensors') {
      res.writeHead(302, { location: '/b0.safetensors' }).end();
    } else if (req.url === '/moved.pth') {
      res.writeHead(302, { location: `${base.replace('127.0.0.1', 'localhost')}/b0.safetensors` }).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

interface LimitCase {
  name: string;
  run: () => Promise<unknown>;
  /** The EffnetError expected, or (without it) `check` on the result. */
  code?: ErrorCode;
  message?: RegExp;
  check?: (result: unknown) => void;
  withinMs: number;
}

const loaded = (w: unknown) => expect((w as ResolvedWeights).spec.name).toBe('efficientnet_b0');

/** Every report a load makes, and the load's result. */
async function withProgress(weights: Parameters<typeof resolveWeights>[1]) {
  const seen: LoadProgress[] = [];
  return { seen, w: await resolveWeights(B0, weights, { onProgress: (p) => seen.push(p) }) };
}

const cases: LimitCase[] = [
  {
    name: 'a stream whose chunks are not bytes is refused, naming what it gave',
    run: () => resolveWeights(B0, new ReadableStream({ start: (c) => (c.enqueue('PK\u0003\u0004'), c.close()) })),
    code: 'IO',
    message: /<ReadableStream>: the stream gave a chunk that is not a Uint8Array \(string\)$/,
    withinMs: 5_000,
  },
  {
    name: 'an endless stream that starts like a zip stops at the default 1 GiB',
    run: () => resolveWeights(B0, endless()),
    code: 'IO',
    message: /<ReadableStream>: it is longer than the 1\.0 GiB a weights file may have \(maxBytes; stopped reading\)$/,
    withinMs: 60_000,
  },
  {
    name: 'an endless HTTP body named .pth stops at maxBytes, and the connection is closed',
    run: async () => {
      const e = await resolveWeights(B0, `${base}/endless.pth`, { maxBytes: 32 << 20 }).catch((x: unknown) => x);
      await vi.waitFor(() => expect(closed).toContain('/endless.pth'));
      throw e as Error;
    },
    code: 'IO',
    message: /endless\.pth: it is longer than the 32\.0 MiB a weights file may have \(maxBytes; stopped reading\)$/,
    withinMs: 10_000,
  },
  {
    name: 'an HTTP .pth whose Content-Length is past the cap is refused before its body is read',
    run: () => resolveWeights(B0, `${base}/huge.pth`),
    code: 'IO',
    message: /huge\.pth: it is 2\.0 GiB, more than the 1\.0 GiB a weights file may have \(maxBytes\)$/,
    withinMs: 2000,
  },
  {
    name: 'a .pth file past maxBytes is refused before it is read',
    run: () => {
      const f = join(dir, 'big.pth');
      writeFileSync(f, zipLike(2 << 20));
      return resolveWeights(B0, f, { maxBytes: 1 << 20 });
    },
    code: 'IO',
    message: /big\.pth: it is 2\.0 MiB, more than the 1\.0 MiB a weights file may have \(maxBytes\)$/,
    withinMs: 1000,
  },
  {
    name: 'a Blob past maxBytes is refused before it is read',
    run: () => resolveWeights(B0, new Blob([zipLike(2 << 20)]), { maxBytes: 1 << 20 }),
    code: 'IO',
    message: /<Blob>: it is 2\.0 MiB, more than the 1\.0 MiB a weights file may have \(maxBytes\)$/,
    withinMs: 1000,
  },
  {
    name: 'maxBytes past 4 GiB is refused by name',
    run: () => resolveWeights(B0, new Blob([zipLike(8)]), { maxBytes: 2 ** 33 }),
    code: 'INPUT',
    message: /maxBytes must be a whole number of bytes from 1 to 4294967296, got 8589934592/,
    withinMs: 500,
  },
  {
    name: 'a fractional maxBytes is refused by name',
    run: () => resolveWeights(B0, new Blob([zipLike(8)]), { maxBytes: 1.5 }),
    code: 'INPUT',
    message: /maxBytes must be a whole number of bytes from 1 to 4294967296, got 1\.5/,
    withinMs: 500,
  },
  {
    name: 'a safetensors stream of no stated length loads whole',
    run: () => resolveWeights(B0, new Blob([B0_SAFETENSORS]).stream()),
    check: loaded,
    withinMs: 10_000,
  },
  {
    name: 'a stalled stream with no signal ends at the default inactivity timeout',
    run: () => atDefaultTimeout(() => resolveWeights(B0, stalled())),
    code: 'IO',
    message: /<ReadableStream>: no data for 30 s \(timeoutMs\)$/,
    withinMs: 5000,
  },
  {
    name: 'a stalled server behind a Response with no signal ends at the default inactivity timeout',
    run: async () => {
      const res = await fetch(`${base}/stall.pth`);
      return atDefaultTimeout(() => resolveWeights(B0, res));
    },
    code: 'IO',
    message: /stall\.pth: no data for 30 s \(timeoutMs\)$/,
    withinMs: 5000,
  },
  {
    name: 'a Response whose Content-Length is half its body: progress never passes the total, and the whole body loads',
    run: () => withProgress(new Response(inChunks(B0_SAFETENSORS), { headers: { 'content-length': String(B0_SAFETENSORS.length >> 1) } })),
    check: (r) => {
      const { seen, w } = r as Awaited<ReturnType<typeof withProgress>>;
      loaded(w);
      expect(seen.some((p) => p.total !== undefined)).toBe(true);
      for (const p of seen) if (p.total !== undefined) expect(p.loaded).toBeLessThanOrEqual(p.total);
      expect(seen.at(-1)).toEqual({ loaded: B0_SAFETENSORS.length });
    },
    withinMs: 10_000,
  },
  {
    name: 'an HTTP body reports progress up to exactly its Content-Length',
    run: () => withProgress(`${base}/b0.safetensors`),
    check: (r) => {
      const { seen, w } = r as Awaited<ReturnType<typeof withProgress>>;
      loaded(w);
      for (const p of seen) expect(p.loaded).toBeLessThanOrEqual(p.total!);
      expect(seen.at(-1)).toEqual({ loaded: B0_SAFETENSORS.length, total: B0_SAFETENSORS.length });
    },
    withinMs: 10_000,
  },
  {
    name: 'a .pth URL redirecting to another origin is refused where it lands',
    run: () => resolveWeights(B0, `${base}/moved.pth`),
    code: 'IO',
    message: /moved\.pth: it redirects to another origin \(http:\/\/localhost:\d+\), which is not followed$/,
    withinMs: 2000,
  },
  {
    name: 'a redirect within the origin is followed',
    run: () => resolveWeights(B0, `${base}/same.safetensors`),
    check: loaded,
    withinMs: 10_000,
  },
];

describe('weights read limits', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const t0 = performance.now();
    const outcome = await c.run().then((v) => ({ v }), (e: unknown) => ({ e }));
    const ms = performance.now() - t0;
    if (c.code) {
      const e = 'e' in outcome ? outcome.e : undefined;
      expect(isEffnetError(e, c.code), `expected EffnetError('${c.code}'), got ${String(e)}`).toBe(true);
      expect((e as Error).message).toMatch(c.message!);
    } else {
      expect('v' in outcome, String('e' in outcome && outcome.e)).toBe(true);
      c.check!((outcome as { v: unknown }).v);
    }
    expect(ms).toBeLessThan(c.withinMs);
    // The peak so far (ru_maxrss, KiB), the endless reads included.
    expect(process.resourceUsage().maxRSS * 1024).toBeLessThan(1.5e9);
    const w = await resolveWeights(undefined, `${FIXTURES}seeds/lukemelas_b0.pth`);
    expect([w.format, w.spec.name]).toEqual(['efficientnet_pytorch', 'efficientnet_b0']);
  });
});

describe('a declared size caps the read in place of maxBytes, up to maxDeclaredBytes', () => {
  /** Bytes whose first 4 declare their length (0: none), as a safetensors header declares its file's. */
  const declaring = (declared: number, length: number): Uint8Array<ArrayBuffer> => {
    const b = new Uint8Array(length).fill(7);
    new DataView(b.buffer).setUint32(0, declared, true);
    return b;
  };
  const policy: ReadPolicy = {
    what: 'test',
    maxBytes: 1 << 20,
    maxDeclaredBytes: 4 << 20,
    declaredCap: (head) => {
      if (head.length < 4) return { need: 4 };
      const n = new DataView(head.buffer, head.byteOffset).getUint32(0, true);
      return n === 0 ? undefined : { bytes: n, why: 'its first bytes declare' };
    },
  };
  const stream = (b: Uint8Array<ArrayBuffer>) => new Blob([b]).stream();
  const file = (name: string, b: Uint8Array) => {
    writeFileSync(join(dir, name), b);
    return join(dir, name);
  };

  const cases: { name: string; run: () => Promise<Uint8Array>; length?: number; message?: RegExp }[] = [
    { name: 'a stream declaring 3 MiB, past maxBytes, is read whole', run: () => readStream(stream(declaring(3 << 20, 3 << 20)), '<s>', policy), length: 3 << 20 },
    { name: 'a file declaring 3 MiB, past maxBytes, is read whole', run: () => readAll(file('three.bin', declaring(3 << 20, 3 << 20)), policy), length: 3 << 20 },
    { name: 'a stream declaring 8 MiB is refused at its head', run: () => readStream(stream(declaring(8 << 20, 2 << 20)), '<s>', policy), message: /<s>: its first bytes declare 8388608 bytes, more than the 4\.0 MiB a test file may have$/ },
    { name: 'a stream declaring nothing stops at maxBytes', run: () => readStream(stream(declaring(0, 2 << 20)), '<s>', policy), message: /<s>: it is longer than the 1\.0 MiB a test file may have \(stopped reading\)$/ },
    { name: 'a file declaring nothing is refused past maxBytes', run: () => readAll(file('none.bin', declaring(0, 2 << 20)), policy), message: /none\.bin: it is 2\.0 MiB, more than the 1\.0 MiB a test file may have$/ },
    { name: 'a stream whose total is past maxDeclaredBytes is refused before reading', run: () => readStream(stream(declaring(3 << 20, 16)), '<s>', policy, 5 << 20), message: /<s>: it is 5\.0 MiB, more than the 4\.0 MiB a test file may have$/ },
    { name: 'a stream whose total is past maxBytes and declares nothing is refused at its head', run: () => readStream(stream(declaring(0, 16)), '<s>', policy, 2 << 20), message: /<s>: it is 2\.0 MiB, more than the 1\.0 MiB a test file may have$/ },
  ];
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const outcome = await c.run().then((v) => ({ v }), (e: unknown) => ({ e }));
    if (c.message) {
      const e = 'e' in outcome ? outcome.e : undefined;
      expect(isEffnetError(e, 'IO'), String(e)).toBe(true);
      expect((e as Error).message).toMatch(c.message);
    } else {
      expect('v' in outcome && outcome.v.length).toBe(c.length);
    }
  });
});
