/**
 * Browser images read back as RGBA8 pixels, for the CPU backend, which has no GPU texture to copy them to: an
 * ImageBitmap, <img>, <canvas>, OffscreenCanvas, VideoFrame or <video> (a video at the frame it shows now) is
 * drawn at its own size into a 2D canvas (an OffscreenCanvas, or a <canvas> where OffscreenCanvas is missing)
 * and read with getImageData: the sRGB, unpremultiplied pixels the WebGPU path copies to its texture (an
 * opaque photo's exactly; a translucent pixel's colour goes through the canvas's premultiplied storage). The
 * size checks and messages are the GPU path's (`checkSourceSize`); every refusal is an EffnetError naming the
 * image.
 */
import { EffnetError } from '../errors.js';
import type { DecodedImage } from './decode.js';
import { checkSourceSize, kindOf, type GpuImageSource } from './gpu.js';

type Context2D = OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D;

/** RGBA8 pixels of `src` at its own size (an <img>'s natural size), refused as `checkGpuSource` refuses it bar the device limit. */
export function readSourcePixels(src: GpuImageSource, name: string, maxPixels?: number): DecodedImage {
  const { width, height } = checkSourceSize(src, name, maxPixels);
  const kind = kindOf(src);
  const ctx = canvas2d(width, height, name, kind);
  let data: Uint8ClampedArray;
  try {
    ctx.drawImage(src as CanvasImageSource, 0, 0, width, height);
    data = ctx.getImageData(0, 0, width, height).data;
  } catch (e) {
    // A cross-origin image taints the canvas (SecurityError); a closed VideoFrame is an InvalidStateError.
    throw new EffnetError('INPUT', `${name}: the browser refused to read this ${kind}'s pixels (${(e as Error)?.message ?? String(e)})`, { cause: e });
  }
  if (data.length !== width * height * 4) throw new EffnetError('INPUT', `${name}: the canvas gave ${data.length} bytes for ${width}×${height} RGBA pixels`);
  return { width, height, rgba: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** A 2D context of `width`×`height` to read pixels with, or an error saying why there is none. */
function canvas2d(width: number, height: number, name: string, kind: string): Context2D {
  const options: CanvasRenderingContext2DSettings = { willReadFrequently: true, colorSpace: 'srgb' };
  let ctx: Context2D | null = null;
  try {
    if (typeof OffscreenCanvas !== 'undefined') {
      ctx = new OffscreenCanvas(width, height).getContext('2d', options);
    } else if (typeof document !== 'undefined') {
      const canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = height;
      ctx = canvas.getContext('2d', options);
    } else {
      throw new EffnetError('INPUT', `${name}: reading a ${kind}'s pixels on the CPU backend needs OffscreenCanvas or a document's <canvas>, and this host has neither; pass the image's bytes or a DecodedImage`);
    }
  } catch (e) {
    if (e instanceof EffnetError) throw e;
    ctx = null;
  }
  if (!ctx) {
    throw new EffnetError('LIMIT_EXCEEDED', `${name}: the browser gave no 2D canvas of ${width}×${height} pixels to read this ${kind} with (over its canvas size limit?); scale it down first`);
  }
  return ctx;
}
