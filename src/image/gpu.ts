/**
 * Browser images straight to the GPU: an ImageBitmap, <img>, <canvas>, OffscreenCanvas, VideoFrame or <video>
 * is copied by the browser into an rgba8unorm texture (copyExternalImageToTexture), which
 * kernels/preprocess_texture.wgsl reads; the pixels never come back to the CPU. Every refusal is an
 * EffnetError naming the image: INPUT for a source with no pixels (an image not loaded, a video before its
 * first frame, a closed bitmap, a cross-origin image) or over the pixel cap, LIMIT_EXCEEDED for one wider or
 * taller than the device's textures.
 */
import { EffnetError } from '../errors.js';
import { DEFAULT_MAX_PIXELS } from './decode.js';
import type * as web from '../platform-types.js';

/** What `classify` copies to the GPU without a CPU readback. (ImageData is pixels already: `imageFromBrowserSource`.) */
export type GpuImageSource = web.ImageBitmap | web.HTMLImageElement | web.HTMLCanvasElement | web.OffscreenCanvas | web.VideoFrame | web.HTMLVideoElement;

const SOURCE_CLASSES = ['ImageBitmap', 'HTMLImageElement', 'HTMLCanvasElement', 'OffscreenCanvas', 'VideoFrame', 'HTMLVideoElement'] as const;
type SourceClass = (typeof SOURCE_CLASSES)[number];

/** `x instanceof globalThis[name]`, false where the host lacks the class (Node has none of them). */
function isA(x: unknown, name: SourceClass): boolean {
  const ctor = (globalThis as Record<string, unknown>)[name];
  return typeof ctor === 'function' && x instanceof (ctor as abstract new (...a: never[]) => unknown);
}

export function isGpuImageSource(x: unknown): x is GpuImageSource {
  return SOURCE_CLASSES.some((c) => isA(x, c));
}

/**
 * The size copyExternalImageToTexture copies: a video's and a VideoFrame's display size, an <img>'s natural
 * size (not its CSS box), a bitmap's or canvas's own. 0×0 when there is nothing to copy yet.
 */
export function gpuSourceSize(src: GpuImageSource): { width: number; height: number } {
  if (isA(src, 'VideoFrame')) {
    const f = src as VideoFrame;
    return { width: f.displayWidth, height: f.displayHeight };
  }
  if (isA(src, 'HTMLVideoElement')) {
    const v = src as HTMLVideoElement;
    // HAVE_CURRENT_DATA (2): before it the element has a size from its metadata but no frame to copy.
    return v.readyState >= 2 ? { width: v.videoWidth, height: v.videoHeight } : { width: 0, height: 0 };
  }
  if (isA(src, 'HTMLImageElement')) {
    const img = src as HTMLImageElement;
    return img.complete ? { width: img.naturalWidth, height: img.naturalHeight } : { width: 0, height: 0 };
  }
  const s = src as ImageBitmap | HTMLCanvasElement | OffscreenCanvas;
  return { width: s.width, height: s.height };
}

/** The kind of source, for messages. */
export function kindOf(src: GpuImageSource): string {
  return SOURCE_CLASSES.find((c) => isA(src, c)) ?? 'image';
}

/**
 * Check `src` has pixels to read and is under the pixel cap, before anything is allocated (no device needed: the
 * CPU backend reads browser images through a canvas, image/pixels.ts). Returns its size.
 */
export function checkSourceSize(src: GpuImageSource, name: string, maxPixels = DEFAULT_MAX_PIXELS): { width: number; height: number } {
  if (!(maxPixels > 0)) throw new EffnetError('INPUT', `maxPixels must be a positive number, got ${String(maxPixels)}`);
  const { width, height } = gpuSourceSize(src);
  const kind = kindOf(src);
  if (!(width > 0 && height > 0)) {
    const why = kind === 'HTMLVideoElement' ? 'the video has no current frame yet (wait for loadeddata)' : kind === 'HTMLImageElement' ? 'the image has not loaded (or failed to)' : 'it is empty or closed';
    throw new EffnetError('INPUT', `${name}: ${kind} of ${width}×${height} pixels has nothing to classify: ${why}`);
  }
  if (width * height > maxPixels) {
    const mp = (n: number) => `${(n / 1e6).toFixed(1)} MP`;
    throw new EffnetError('INPUT', `${name}: ${kind} of ${width}×${height} pixels (${mp(width * height)}) is over the cap of ${mp(maxPixels)} (maxPixels)`);
  }
  return { width, height };
}

/**
 * Check `src` against the pixel cap and the device's texture limit, before anything is allocated. Returns
 * its size.
 */
export function checkGpuSource(src: GpuImageSource, device: web.GPUDevice, name: string, maxPixels = DEFAULT_MAX_PIXELS): { width: number; height: number } {
  const { width, height } = checkSourceSize(src, name, maxPixels);
  const kind = kindOf(src);
  const max = device.limits.maxTextureDimension2D;
  if (width > max || height > max) {
    throw new EffnetError('LIMIT_EXCEEDED', `${name}: ${kind} of ${width}×${height} pixels exceeds this device's maxTextureDimension2D (${max}); scale it down first`);
  }
  return { width, height };
}

/** Devices whose queue could not import a video frame directly (Chromium on a software adapter cannot). */
const noDirectVideo = new WeakSet<GPUDevice>();

/**
 * A new rgba8unorm texture holding `src` as it is now (a video's current frame), unpremultiplied and not
 * flipped, in sRGB. The caller destroys it. The copy (or, for a video the device cannot import directly, the
 * createImageBitmap snapshot it is copied from) is taken when this is called, so a video is classified at the
 * frame it shows then, whatever runs later.
 */
export async function copySourceToTexture(device: web.GPUDevice, src: GpuImageSource, size: { width: number; height: number }, name: string): Promise<web.GPUTexture> {
  const isVideo = isA(src, 'VideoFrame') || isA(src, 'HTMLVideoElement');
  if (isVideo && noDirectVideo.has(device)) return copyViaBitmap(device, src, size, name);
  try {
    return copyNow(device, src, size, name);
  } catch (e) {
    if (!isVideo) throw e;
    // Chromium on SwiftShader refuses every video source ("Failed to copy content from video element") while
    // copying ImageBitmaps fine: snapshot the frame as a bitmap, in the browser, and copy that. Remembered per
    // device, so a video loop pays the refusal once.
    noDirectVideo.add(device);
    return copyViaBitmap(device, src, size, name);
  }
}

async function copyViaBitmap(device: GPUDevice, src: GpuImageSource, size: { width: number; height: number }, name: string): Promise<GPUTexture> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(src as VideoFrame | HTMLVideoElement, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch (e) {
    throw new EffnetError('INPUT', `${name}: the browser could not take a frame of this ${kindOf(src)} (${(e as Error)?.message ?? String(e)})`, { cause: e });
  }
  try {
    return copyNow(device, bitmap, size, name);
  } finally {
    bitmap.close();
  }
}

function copyNow(device: GPUDevice, src: GpuImageSource, size: { width: number; height: number }, name: string): GPUTexture {
  const texture = device.createTexture({
    label: `${name}.texture`,
    size: [size.width, size.height],
    format: 'rgba8unorm',
    // copyExternalImageToTexture requires RENDER_ATTACHMENT on its destination.
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST | GPUTextureUsage.RENDER_ATTACHMENT,
  });
  try {
    device.queue.copyExternalImageToTexture(
      { source: src, flipY: false },
      // Unpremultiplied, as decodeImage's createImageBitmap({ premultiplyAlpha: 'none' }) gives the buffer path.
      { texture, premultipliedAlpha: false, colorSpace: 'srgb' },
      [size.width, size.height],
    );
  } catch (e) {
    texture.destroy();
    // A cross-origin image (SecurityError), a closed bitmap or frame (InvalidStateError), …
    throw new EffnetError('INPUT', `${name}: the browser refused to copy this ${kindOf(src)} to the GPU (${(e as Error)?.message ?? String(e)})`, { cause: e });
  }
  return texture;
}
