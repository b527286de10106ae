/**
 * What a CLI job gets from where it runs. Each job in tools/jobs/ is written once, as a function of its input and
 * this host: in Node the CLI's runner (tools/host.ts) passes one, in headless Chromium the page host
 * (tools/browser/host.ts) does. The two differ in how local files are read and how progress reaches the terminal.
 */
import type { ErrorCode } from '../../src/errors.js';
import type { DecodedImage, DecodeOptions } from '../../src/image/decode.js';

export interface JobHost {
  /** A progress line; the CLI prints it on stderr as `effnet: <line>`. */
  log(line: string): void;
  /** How many of a job's items are done. */
  progress(done: number, total: number): void;
  /** Where a loaded model runs, for progress lines: `(<what>)` in Node, `in headless Chromium` in the page. */
  where(what: string): string;
  /** The bytes of a local file the command named: a path in Node; in Chromium the URL the CLI serves it at. */
  read(file: string): Promise<Uint8Array>;
  /** A local image file (as `read` names it), decoded; `name` is what errors call it. */
  image(file: string, name: string, opts: DecodeOptions): Promise<DecodedImage>;
}

/** A job's result as the page hands it back: plain data, an error as its code and message. */
export type JobOutcome = { value: unknown } | { error: { code: ErrorCode | null; message: string } };

/**
 * The page host's progress goes out as console lines with these prefixes (puppeteer delivers console messages
 * in order, before the job's result), which the CLI's runner turns back into `log` and `progress` calls.
 */
export const PAGE_LOG = 'effnet: ';
export const PAGE_PROGRESS = 'effnet progress: ';
