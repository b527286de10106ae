/**
 * Image decoding for the classification front end: file bytes → RGBA8 pixels, which kernels/preprocess.wgsl
 * takes as they are (one u32 per pixel). In a browser the platform decodes (createImageBitmap, then a 2D
 * canvas readback); in Node, JPEG and PNG are decoded in JavaScript by jpeg-js and pngjs. Every failure is an
 * EffnetError('INPUT') naming the image (or 'IO' for a file that cannot be read).
 */
import { EffnetError } from '../errors.js';
import { isNode } from '../env.js';

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

function corrupt(format: string, name: string, cause: unknown): EffnetError {
  return new EffnetError('INPUT', `${name}: corrupt or truncated ${format} data (${(cause as Error)?.message ?? String(cause)})`, { cause });
}

/**
 * Decode a JPEG or PNG file's bytes (in a browser, any format the browser decodes) to RGBA8. `name` (a path
 * or URL) is used in error messages.
 */
export async function decodeImage(bytes: Uint8Array, name = 'image'): Promise<DecodedImage> {
  if (bytes.length === 0) throw new EffnetError('INPUT', `${name}: the file is empty (0 bytes)`);
  if (!isNode) return decodeInBrowser(bytes, name);
  const format = sniff(bytes);
  if (format === undefined) throw unsupported(bytes, name);
  return checked(format === 'jpeg' ? await decodeJpeg(bytes, name) : await decodePng(bytes, name), name);
}

// jpeg-js and pngjs: maintained pure-JavaScript decoders, because Node has no image decoder of its own and
// the machines this runs on may have no native image libraries. Imported on first use so that browser code
// paths never load them.
async function decodeJpeg(bytes: Uint8Array, name: string): Promise<DecodedImage> {
  const { decode } = await import('jpeg-js');
  try {
    // Grey and CMYK JPEGs come out as RGBA too; the memory cap keeps a hostile header from exhausting memory.
    const img = decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512 });
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (e) {
    throw corrupt('JPEG', name, e);
  }
}

async function decodePng(bytes: Uint8Array, name: string): Promise<DecodedImage> {
  // A 0-pixel PNG is valid to write but pngjs reports it as an inflate error; read the size from IHDR first
  // (signature 8 bytes, chunk length 4, "IHDR" 4, then width and height as big-endian u32).
  if (bytes.length >= 24 && ascii(bytes, 12, 4) === 'IHDR') {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const width = view.getUint32(16);
    const height = view.getUint32(20);
    if (width === 0 || height === 0) throw new EffnetError('INPUT', `${name}: the image is empty (${width}×${height} pixels)`);
  }
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

export type BrowserImageSource = ImageBitmap | ImageData | VideoFrame | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas;

const isImageData = (s: BrowserImageSource): s is ImageData => typeof ImageData !== 'undefined' && s instanceof ImageData;

/** RGBA8 pixels of an image the browser already holds: ImageData as is, anything else drawn to a 2D canvas. */
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

/** Node: read and decode an image file, with a clear error for a missing, unreadable or non-file path. */
export async function readImageFile(path: string): Promise<DecodedImage> {
  const fs = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    const st = await fs.stat(path);
    if (st.isDirectory()) throw new EffnetError('IO', `${path}: is a directory, not an image file`);
    if (!st.isFile()) throw new EffnetError('IO', `${path}: is not a regular file`);
    bytes = await fs.readFile(path);
  } catch (e) {
    if (e instanceof EffnetError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message;
    throw new EffnetError('IO', `${path}: cannot read the image file (${why})`, { cause: e });
  }
  return decodeImage(bytes, path);
}
