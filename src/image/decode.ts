/**
 * Image decoding for the classification front end: file bytes → RGBA8 pixels, which kernels/preprocess.wgsl
 * takes as they are (one u32 per pixel). In a browser the platform decodes (createImageBitmap, then a 2D
 * canvas readback); in Node, JPEG and PNG are decoded in JavaScript by jpeg-js and pngjs. Every failure is an
 * EffnetError('INPUT') naming the image (or 'IO' for a file that cannot be read).
 */
import { EffnetError } from '../errors.js';
import { isNode } from '../env.js';
import { readAll } from '../io/read.js';
import type * as web from '../platform-types.js';

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA8, row-major, width·height·4 bytes. */
  rgba: Uint8Array;
}

type Format = 'jpeg' | 'png';

const SUPPORTED = 'JPEG (starts FF D8 FF) and PNG (starts 89 50 4E 47)';

/** Signatures of formats we do not decode, only to name them in the error. */
const OTHER_FORMATS: [string, (b: Uint8Array) => boolean][] = [
  ['GIF', (b) => ascii(b, 0, 4) === 'GIF8'],
  ['WebP', (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP'],
  ['BMP', (b) => ascii(b, 0, 2) === 'BM'],
  ['TIFF', (b) => ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*'],
  ['HEIF/AVIF', (b) => ascii(b, 4, 4) === 'ftyp'],
];

function ascii(b: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...b.subarray(at, at + n));
}

function sniff(b: Uint8Array): Format | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 4 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  return undefined;
}

/** The first bytes as hex and as printable text, for error messages. */
function firstBytes(b: Uint8Array): string {
  const head = b.subarray(0, 12);
  const hex = Array.from(head, (v) => v.toString(16).padStart(2, '0').toUpperCase()).join(' ');
  const text = Array.from(head, (v) => (v >= 0x20 && v < 0x7f ? String.fromCharCode(v) : '.')).join('');
  return `${hex}${b.length > head.length ? ' …' : ''} "${text}"`;
}

function unsupported(b: Uint8Array, name: string): EffnetError {
  const known = OTHER_FORMATS.find(([, test]) => test(b));
  return new EffnetError(
    'INPUT',
    `${name}: ${known ? `${known[0]} images are not supported` : 'not a recognised image format'} (first bytes ${firstBytes(b)}); ` +
      `supported: ${SUPPORTED}`,
  );
}

function checked(img: DecodedImage, name: string): DecodedImage {
  if (img.width <= 0 || img.height <= 0) throw new EffnetError('INPUT', `${name}: the image is empty (${img.width}×${img.height} pixels)`);
  if (img.rgba.length !== img.width * img.height * 4) {
    throw new EffnetError('INPUT', `${name}: decoder returned ${img.rgba.length} bytes for ${img.width}×${img.height} RGBA pixels`);
  }
  return img;
}

/**
 * The default pixel cap: generous enough for 100 MP camera photos, small enough that a header claiming
 * gigapixels is refused before anything is allocated.
 */
export const DEFAULT_MAX_PIXELS = 120_000_000;

export interface DecodeOptions {
  /** Refuse images with more pixels than this, read from the header before decoding (default DEFAULT_MAX_PIXELS). */
  maxPixels?: number;
}

/** Width and height from a PNG's IHDR or a JPEG's first SOFn marker; undefined when the header does not say. */
export function imageDimensions(b: Uint8Array): { width: number; height: number } | undefined {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const format = sniff(b);
  // signature 8 bytes, chunk length 4, "IHDR" 4, then width and height as big-endian u32.
  if (format === 'png') return b.length >= 24 && ascii(b, 12, 4) === 'IHDR' ? { width: view.getUint32(16), height: view.getUint32(20) } : undefined;
  if (format !== 'jpeg') return undefined;
  // Markers after SOI: FF xx, then a big-endian length that includes itself; SOF0..SOF15 (not DHT C4, JPG C8,
  // DAC CC) carry precision (1), height (2), width (2).
  for (let at = 2; at + 4 <= b.length; ) {
    if (b[at] !== 0xff) return undefined;
    const marker = b[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined;
    const len = view.getUint16(at + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return at + 9 <= b.length ? { width: view.getUint16(at + 7), height: view.getUint16(at + 5) } : undefined;
    }
    at += 2 + len;
  }
  return undefined;
}

/** The header's size against the cap, before any decoder allocates for it. */
function checkPixels(b: Uint8Array, name: string, maxPixels: number): { width: number; height: number } | undefined {
  const dims = imageDimensions(b);
  if (!dims) return undefined;
  if (dims.width === 0 || dims.height === 0) throw new EffnetError('INPUT', `${name}: the image is empty (${dims.width}×${dims.height} pixels)`);
  const pixels = dims.width * dims.height;
  if (pixels > maxPixels) {
    const mp = (n: number) => `${(n / 1e6).toFixed(1)} MP`;
    throw new EffnetError(
      'INPUT',
      `${name}: the header says ${dims.width}×${dims.height} pixels (${mp(pixels)}), over the cap of ${mp(maxPixels)} (maxPixels); refused before decoding`,
    );
  }
  return dims;
}

function corrupt(format: string, name: string, cause: unknown): EffnetError {
  return new EffnetError('INPUT', `${name}: corrupt or truncated ${format} data (${(cause as Error)?.message ?? String(cause)})`, { cause });
}

/**
 * Decode a JPEG or PNG file's bytes (in a browser, any format the browser decodes) to RGBA8. `name` (a path
 * or URL) is used in error messages.
 */
export async function decodeImage(bytes: Uint8Array, name = 'image', opts: DecodeOptions = {}): Promise<DecodedImage> {
  if (bytes.length === 0) throw new EffnetError('INPUT', `${name}: the file is empty (0 bytes)`);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(maxPixels > 0)) throw new EffnetError('INPUT', `maxPixels must be a positive number, got ${String(opts.maxPixels)}`);
  const dims = checkPixels(bytes, name, maxPixels);
  if (!isNode) return decodeInBrowser(bytes, name);
  const format = sniff(bytes);
  if (format === undefined) throw unsupported(bytes, name);
  return checked(format === 'jpeg' ? await decodeJpeg(bytes, name, dims, maxPixels) : await decodePng(bytes, name), name);
}

// jpeg-js and pngjs: maintained pure-JavaScript decoders, because Node has no image decoder of its own and
// the machines this runs on may have no native image libraries. Imported on first use so that browser code
// paths never load them.
async function decodeJpeg(bytes: Uint8Array, name: string, dims: { width: number; height: number } | undefined, maxPixels: number): Promise<DecodedImage> {
  const { decode } = await import('jpeg-js');
  // jpeg-js's own defaults (100 MP, 512 MB) refuse ordinary 27 and 48 MP photos as "corrupt". Its budget is
  // set from this image's header instead, already checked against the cap: per pixel and component 4 bytes of
  // coefficient blocks and 1 of samples, plus the RGBA output; so memory stays bounded by the pixel cap.
  const pixels = dims ? dims.width * dims.height : maxPixels;
  const memoryMB = Math.ceil((pixels * JPEG_BYTES_PER_PIXEL) / 2 ** 20) + 64;
  try {
    // Grey and CMYK JPEGs come out as RGBA too.
    const img = decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: memoryMB });
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (e) {
    throw corrupt('JPEG', name, e);
  }
}

/** Up to 4 components (CMYK) × (4 bytes of coefficients + 1 of samples), plus 4 bytes of RGBA output. */
const JPEG_BYTES_PER_PIXEL = 4 * 5 + 4;

// A 0-pixel PNG (valid to write, but an inflate error to pngjs) and one over the pixel cap were refused from
// its IHDR by checkPixels already.
async function decodePng(bytes: Uint8Array, name: string): Promise<DecodedImage> {
  const { PNG } = await import('pngjs');
  try {
    // 16-bit, grey and palette PNGs are converted to RGBA8 by pngjs.
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { width: png.width, height: png.height, rgba: new Uint8Array(png.data) };
  } catch (e) {
    throw corrupt('PNG', name, e);
  }
}

async function decodeInBrowser(bytes: Uint8Array, name: string): Promise<DecodedImage> {
  let bitmap: ImageBitmap;
  try {
    // Pixels as stored: no colour-profile conversion and no alpha premultiplication before the readback.
    bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    const format = sniff(bytes);
    if (format === undefined) throw unsupported(bytes, name);
    throw corrupt(format.toUpperCase(), name, e);
  }
  try {
    return imageFromBrowserSource(bitmap, name);
  } finally {
    bitmap.close();
  }
}

export type BrowserImageSource = web.ImageBitmap | web.ImageData | web.VideoFrame | web.HTMLImageElement | web.HTMLCanvasElement | web.OffscreenCanvas;

const isImageData = (s: BrowserImageSource): s is ImageData => typeof ImageData !== 'undefined' && s instanceof ImageData;

/**
 * RGBA8 pixels of an image the browser already holds: ImageData as is, anything else drawn to a 2D canvas and
 * read back. For classification this readback is not needed: `classify` takes ImageBitmap, <img>, canvas,
 * OffscreenCanvas, VideoFrame and <video> directly and copies them to the GPU (image/gpu.ts).
 */
export function imageFromBrowserSource(src: BrowserImageSource, name = 'image'): DecodedImage {
  if (isImageData(src)) {
    return checked({ width: src.width, height: src.height, rgba: new Uint8Array(src.data.buffer, src.data.byteOffset, src.data.byteLength) }, name);
  }
  const [width, height] =
    typeof VideoFrame !== 'undefined' && src instanceof VideoFrame
      ? [src.displayWidth, src.displayHeight]
      : typeof HTMLImageElement !== 'undefined' && src instanceof HTMLImageElement
        ? [src.naturalWidth, src.naturalHeight]
        : [(src as ImageBitmap).width, (src as ImageBitmap).height];
  if (!(width > 0 && height > 0)) throw new EffnetError('INPUT', `${name}: the image is empty (${width}×${height} pixels)`);
  if (typeof OffscreenCanvas === 'undefined') throw new EffnetError('INPUT', `${name}: reading pixels needs OffscreenCanvas, which this host lacks`);
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new EffnetError('INPUT', `${name}: no 2D canvas context to read the pixels with`);
  ctx.drawImage(src, 0, 0, width, height);
  const data = ctx.getImageData(0, 0, width, height).data;
  return checked({ width, height, rgba: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }, name);
}

/**
 * The largest image file read: 2 GiB, what Node's own readFile takes; a JPEG or PNG under the default pixel cap
 * comes nowhere near it.
 */
export const IMAGE_MAX_BYTES = 2 ** 31 - 1;

/**
 * Read an image through the engine's one reader (src/io/read.ts: in Node a path, `file:` or http(s) URL — a FIFO,
 * device or directory is an IO error at once, never waited on; in a browser a URL, with a timeout) and decode it.
 */
export async function readImageFile(where: string | web.URL, opts: DecodeOptions = {}): Promise<DecodedImage> {
  return decodeImage(await readAll(where, { what: 'image', maxBytes: IMAGE_MAX_BYTES }), String(where), opts);
}
