/**
 * The one reader (src/io/read.ts) on what weights need of it beyond tuning files (whose reading rules
 * test/tuning-files.test.ts covers): a cap the bytes declare in their head, on a file and on a stream; a stream
 * the caller holds, capped and abortable; and `isDirectory`, the one copy the CLI shares.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { isEffnetError, type ErrorCode } from '../src/errors.js';
import { isDirectory, readAll, readStream, type ReadPolicy } from '../src/io/read.js';

const dir = mkdtempSync(join(tmpdir(), 'effnet-io-read-'));

/** Bytes whose first byte declares their length. */
const declaring = (declared: number, length: number) => new Uint8Array(length).fill(7).fill(declared, 0, 1);
const firstByte: ReadPolicy['declaredCap'] = (head) => (head.length < 1 ? { need: 1 } : { bytes: head[0]!, why: 'its first byte says' });
const policy = (over: Partial<ReadPolicy> = {}): ReadPolicy => ({ what: 'test', maxBytes: 1 << 20, declaredCap: firstByte, ...over });

async function refusal(p: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(isEffnetError(e, code), String(e)).toBe(true);
  expect((e as Error).message).toMatch(message);
}

/** A stream of `chunks`, then (with `endless`) silence; `cancelled` records a cancel. */
function chunked(chunks: Uint8Array[], endless = false) {
  const state = { cancelled: false, pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      const next = chunks[state.pulled++];
      if (next) return c.enqueue(next);
      if (!endless) return c.close();
      return new Promise(() => undefined);
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

describe('a cap the bytes declare', () => {
  test('a file longer than its head declares is refused before its data is read', async () => {
    const f = join(dir, 'long.bin');
    writeFileSync(f, declaring(40, 100));
    await refusal(readAll(f, policy()), 'IO', /cannot read test from .*long\.bin: it is 100 bytes but its first byte says 40 bytes$/);
  });

  test('a file of its declared size is read whole, with progress to its total', async () => {
    const f = join(dir, 'exact.bin');
    writeFileSync(f, declaring(40, 40));
    const seen: { loaded: number; total?: number }[] = [];
    expect(await readAll(f, policy({ onProgress: (p) => seen.push(p) }))).toEqual(declaring(40, 40));
    expect(seen.at(-1)).toEqual({ loaded: 40, total: 40 });
  });

  test('a file shorter than the head the format needs declares nothing and is read whole', async () => {
    const f = join(dir, 'short.bin');
    writeFileSync(f, new Uint8Array([1, 2, 3]));
    expect(await readAll(f, policy({ declaredCap: (head) => (head.length < 8 ? { need: 8 } : { bytes: 0, why: 'never' }) }))).toEqual(new Uint8Array([1, 2, 3]));
  });

  test('a stream past its declared size stops there and is cancelled', async () => {
    const { stream, state } = chunked([declaring(40, 30), new Uint8Array(30), new Uint8Array(30)]);
    await refusal(readStream(stream, '<stream>', policy()), 'IO', /cannot read test from <stream>: the data is longer than the 40 bytes its first byte says \(stopped reading\)/);
    expect(state.cancelled).toBe(true);
    expect(state.pulled).toBeLessThan(3);
  });
});

describe('a stream the caller holds', () => {
  test('is read whole, in chunks, with progress', async () => {
    const { stream } = chunked([new Uint8Array([1, 2]), new Uint8Array([3])]);
    const seen: { loaded: number; total?: number }[] = [];
    expect(await readStream(stream, '<stream>', policy({ declaredCap: undefined, onProgress: (p) => seen.push(p) }), 3)).toEqual(new Uint8Array([1, 2, 3]));
    expect(seen).toEqual([{ loaded: 2, total: 3 }, { loaded: 3, total: 3 }]);
  });

  test('a declared total over the cap is refused before reading; a body past it stops at the cap', async () => {
    const big = chunked([new Uint8Array(8)]);
    await refusal(readStream(big.stream, '<Blob>', policy({ declaredCap: undefined }), 2 << 20), 'IO', /<Blob>: it is 2\.0 MiB, more than the 1\.0 MiB a test file may have$/);
    expect(big.state.pulled).toBeLessThanOrEqual(1);
    const { stream } = chunked([new Uint8Array(600 << 10), new Uint8Array(600 << 10)]);
    await refusal(readStream(stream, '<stream>', policy({ declaredCap: undefined })), 'IO', /longer than the 1\.0 MiB a test file may have \(stopped reading\)/);
  });

  test('an abort ends a silent stream at once with ABORTED', async () => {
    const { stream, state } = chunked([new Uint8Array(4)], true);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 50);
    const t0 = performance.now();
    await refusal(readStream(stream, '<stream>', policy({ declaredCap: undefined, signal: ctl.signal })), 'ABORTED', /reading test from <stream> was aborted/);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(state.cancelled).toBe(true);
  });
});

test('isDirectory: a folder is one; a file, a missing path are not', async () => {
  const f = join(dir, 'file.bin');
  writeFileSync(f, new Uint8Array(1));
  expect(await isDirectory(dir)).toBe(true);
  expect(await isDirectory(f)).toBe(false);
  expect(await isDirectory(join(dir, 'missing'))).toBe(false);
});
