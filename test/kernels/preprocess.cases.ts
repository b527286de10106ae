import type { CaseTag, KernelCase } from './case.js';
import {
  PREPROCESS_TFJS, PREPROCESS_TORCHVISION, preprocessLaunch, presetLaunch, torchvisionPreset,
  type CropRect, type PixelSource, type PreprocessPreset, type PreprocessShape,
} from '../../src/kernels/preprocess.js';
import type { KernelLibrary } from '../../src/kernels/library.js';
import { encodeDispatch } from '../../src/kernels/launch.js';
import { readBuffer, storageBuffer } from '../../src/buffers.js';
import { distinctLayerShapes } from '../../src/model/layers.js';
import { getArch } from '../../src/model/tables.js';
import { compare, type Comparison } from '../../src/reference/compare.js';
import { dispatchOnce } from '../support/dispatch.js';
import { rng } from '../support/tensor.js';
import { preprocessRef, type PreprocessRefSpec } from '../../src/reference/preprocess.js';
import { TOL } from '../../src/reference/tolerances.js';

/** The network input side of an architecture: the stem's input. */
const inputSize = (arch: string): number => {
  const op = distinctLayerShapes(getArch(arch)).find((o) => o.kind === 'stem')!;
  if (op.kind !== 'stem' || op.H !== op.W) throw new Error(`${arch}: no square stem input`);
  return op.H;
};

/** Random opaque-or-not RGBA8 noise: neighbouring pixels differ by up to 255, the resamplers' worst case. */
function randomImage(w: number, h: number, seed: number): Uint8Array {
  const r = rng(seed);
  const rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = Math.floor(r() * 256);
  return rgba;
}

interface Scene {
  name: string;
  tags: CaseTag[];
  w: number;
  h: number;
  /** Either a preset and a square input size, or an explicit shape. */
  preset?: { preset: PreprocessPreset; size: number };
  shape?: Omit<PreprocessShape, 'srcW' | 'srcH' | 'n' | 'batch' | 'layout' | 'source'>;
  layout: 'nhwc' | 'nchw';
  n: number;
  batch: number;
}

const crop = (x: number, y: number, width: number, height: number): CropRect => ({ x, y, width, height });

const B0 = inputSize('efficientnet_b0');
const V2S = inputSize('efficientnet_v2_s');

const SCENES: Scene[] = [
  // The real front ends: a 500×375 photo into B0 (TF.js and torchvision pipelines) and into V2-S.
  { name: `tfjs 500x375→${B0}`, tags: ['b0', 'chrome'], w: 500, h: 375, preset: { preset: PREPROCESS_TFJS, size: B0 }, layout: 'nhwc', n: 0, batch: 1 },
  { name: `torchvision bicubic aa 500x375→${B0}`, tags: ['b0', 'chrome'], w: 500, h: 375, preset: { preset: PREPROCESS_TORCHVISION, size: B0 }, layout: 'nchw', n: 1, batch: 2 },
  { name: `torchvision bilinear aa 375x500→${V2S}`, tags: ['v2s'], w: 375, h: 500, preset: { preset: torchvisionPreset(V2S, 'bilinear'), size: V2S }, layout: 'nchw', n: 0, batch: 1 },
  // A TF.js-preset image smaller than the crop's target: upscaling, where the 'crop' window's edge clamp shows.
  { name: `tfjs 150x200→${B0} (upscale)`, tags: ['awkward'], w: 150, h: 200, preset: { preset: PREPROCESS_TFJS, size: B0 }, layout: 'nhwc', n: 2, batch: 3 },
  // Every mode on odd sizes, integer crop off the origin, up- and downscaling, both windows and layouts.
  ...(['tf-bilinear', 'bilinear', 'bicubic'] as const).flatMap((mode, i): Scene[] => [
    {
      name: `${mode} 37x23 crop(5,3,20,17)→45x31 up`, tags: i === 2 ? ['awkward', 'chrome'] : ['awkward'], w: 37, h: 23,
      shape: { mode, crop: crop(5, 3, 20, 17), outH: 31, outW: 45, edge: 'crop' }, layout: 'nchw', n: 2, batch: 3,
    },
    {
      name: `${mode} 131x97 crop(7,11,101,77)→29x23 down, image window`, tags: ['awkward'], w: 131, h: 97,
      shape: { mode, crop: crop(7, 11, 101, 77), outH: 23, outW: 29, edge: 'image', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      layout: 'nhwc', n: 1, batch: 2,
    },
    {
      name: `${mode} 61x53 fractional crop(3.25,7.5,50.7,40.3)→19x27`, tags: ['awkward'], w: 61, h: 53,
      shape: { mode, crop: crop(3.25, 7.5, 50.7, 40.3), outH: 19, outW: 27, edge: 'crop' }, layout: 'nchw', n: 0, batch: 1,
    },
  ]),
  // Antialiasing: strong and mild downscales, an upscale (the filter keeps its unit width), both windows.
  ...(['bilinear', 'bicubic'] as const).flatMap((mode): Scene[] => [
    {
      name: `${mode} aa 613x419 crop(10,20,590,380)→23x17 (×25 down)`, tags: ['awkward'], w: 613, h: 419,
      shape: { mode, antialias: true, crop: crop(10, 20, 590, 380), outH: 17, outW: 23, edge: 'crop' }, layout: 'nhwc', n: 1, batch: 2,
    },
    {
      name: `${mode} aa 101x77 fractional crop(2.5,4.75,90.2,70.1)→41x33, image window`, tags: mode === 'bilinear' ? ['awkward', 'chrome'] : ['awkward'],
      w: 101, h: 77,
      shape: { mode, antialias: true, crop: crop(2.5, 4.75, 90.2, 70.1), outH: 33, outW: 41, edge: 'image', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      layout: 'nchw', n: 0, batch: 1,
    },
    {
      name: `${mode} aa 23x19 crop(1,2,20,15)→37x29 (up)`, tags: ['awkward'], w: 23, h: 19,
      shape: { mode, antialias: true, crop: crop(1, 2, 20, 15), outH: 29, outW: 37, edge: 'crop' }, layout: 'nhwc', n: 0, batch: 1,
    },
  ]),
  { name: 'tf-bilinear 1x1→3x5', tags: ['awkward'], w: 1, h: 1, shape: { mode: 'tf-bilinear', crop: crop(0, 0, 1, 1), outH: 3, outW: 5 }, layout: 'nhwc', n: 0, batch: 1 },
  // More output pixels than one dispatch dimension has workgroups for (65535·64), to exercise the x/y fold.
  {
    name: 'bilinear 64x48→2100x2048 (grid fold)', tags: ['awkward'], w: 64, h: 48,
    shape: { mode: 'bilinear', crop: crop(0, 0, 64, 48), outH: 2048, outW: 2100, edge: 'image' }, layout: 'nchw', n: 0, batch: 1,
  },
];

/** The kernel's view of a scene and the reference's, from the same inputs. */
function plan(s: Scene, rgba: Uint8Array, source: PixelSource = 'buffer'): { launch: ReturnType<typeof preprocessLaunch>; ref: PreprocessRefSpec; outH: number; outW: number } {
  const common = { srcW: s.w, srcH: s.h, n: s.n, batch: s.batch, layout: s.layout, source };
  if (s.preset) {
    const { preset, size } = s.preset;
    return {
      launch: presetLaunch(preset, { ...common, size }),
      ref: {
        width: s.w, height: s.h, rgba, crop: preset.crop(s.w, s.h, size), outH: size, outW: size,
        mode: preset.mode, antialias: preset.antialias, edge: preset.edge, mean: preset.mean, std: preset.std,
      },
      outH: size,
      outW: size,
    };
  }
  const sh = s.shape!;
  return {
    launch: preprocessLaunch({ ...common, ...sh }),
    ref: {
      width: s.w, height: s.h, rgba, crop: sh.crop, outH: sh.outH, outW: sh.outW, mode: sh.mode,
      antialias: sh.antialias ?? false, edge: sh.edge ?? 'crop', mean: sh.mean ?? [0, 0, 0], std: sh.std ?? [1, 1, 1],
    },
    outH: sh.outH,
    outW: sh.outW,
  };
}

/** The whole output batch as expected: image n from the float64 reference, every other image zero. */
function expected(s: Scene, ref: PreprocessRefSpec, outputFloats: number, outH: number, outW: number): Float64Array {
  const want = new Float64Array(outputFloats);
  const hwc = preprocessRef(ref);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      for (let c = 0; c < 3; c++) {
        const at = s.layout === 'nhwc' ? ((s.n * outH + oy) * outW + ox) * 3 + c : ((s.n * 3 + c) * outH + oy) * outW + ox;
        want[at] = hwc[(oy * outW + ox) * 3 + c]!;
      }
    }
  }
  return want;
}

/** Image n of the batch against the reference, and every other image untouched (zero). */
function compareBatch(s: Scene, y: Float32Array, want: Float64Array, outH: number, outW: number, what: string): Comparison[] {
  const image = s.layout === 'nhwc' ? s.n * outH * outW * 3 : s.n * 3 * outH * outW;
  const size = 3 * outH * outW;
  const others = (a: Float32Array | Float64Array) => {
    const r = new Float64Array(a.length - size);
    r.set(a.subarray(0, image));
    r.set(a.subarray(image + size), image);
    return r;
  };
  return [
    compare(y.subarray(image, image + size), want.subarray(image, image + size), TOL.resample, what),
    compare(others(y), others(want), TOL.exact, 'other images of the batch untouched'),
  ];
}

export const preprocessCases: KernelCase[] = SCENES.map((s, i) => ({
  name: `preprocess ${s.name} ${s.layout} n=${s.n}/${s.batch}`,
  kernel: 'preprocess',
  tags: s.tags,
  async run(lib) {
    const rgba = randomImage(s.w, s.h, 4000 + i);
    const { launch, ref, outH, outW } = plan(s, rgba);
    const { y } = await dispatchOnce(lib, {
      kernel: launch.kernel,
      overrides: launch.overrides,
      uniforms: launch.uniforms,
      buffers: { src: new Uint32Array(rgba.buffer), y: launch.outputFloats * 4 },
      read: ['y'],
    });
    return compareBatch(s, y!, expected(s, ref, launch.outputFloats, outH, outW), outH, outW, s.name);
  },
}));

/**
 * preprocess_texture runs kernels/preprocess.wgsl's resampling on pixels read from an rgba8unorm texture. Its
 * reference is preprocess's (float64), and it must give exactly the buffer kernel's floats for the same pixels.
 * Here the texture is filled with writeTexture (Node has no browser images); the end-to-end path through
 * copyExternalImageToTexture is checked in Chromium by test/image-gpu.chrome.test.ts.
 */
async function dispatchTexture(lib: KernelLibrary, launch: ReturnType<typeof preprocessLaunch>, rgba: Uint8Array, w: number, h: number): Promise<Float32Array> {
  const { device } = lib;
  const texture = device.createTexture({ label: 'case.src', size: [w, h], format: 'rgba8unorm', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST });
  const params = lib.uniformBuffer(launch.kernel, launch.uniforms);
  const y = storageBuffer(device, launch.outputFloats * 4, 'case.y');
  device.pushErrorScope('validation');
  try {
    device.queue.writeTexture({ texture }, rgba as Uint8Array<ArrayBuffer>, { bytesPerRow: w * 4, rowsPerImage: h }, [w, h]);
    const pipeline = await lib.pipeline(launch.kernel, launch.overrides);
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    encodeDispatch(pass, { pipeline, bindGroup: lib.bindGroup(launch.kernel, { params, src: texture.createView(), y }), grid: lib.grid(launch.workgroups) });
    pass.end();
    device.queue.submit([enc.finish()]);
    const out = new Float32Array(await readBuffer(device, y, launch.outputFloats * 4));
    const err = await device.popErrorScope();
    if (err) throw new Error(`preprocess_texture: ${err.message}`);
    return out;
  } finally {
    texture.destroy();
    params.destroy();
    y.destroy();
  }
}

/** The real front ends, and awkward crops in every mode (with and without antialiasing), through the texture. */
const TEXTURE_SCENES = SCENES.map((s, i) => ({ s, i })).filter(({ s }) => s.tags.includes('b0') || s.tags.includes('chrome') || /1x1|fractional crop\(3/.test(s.name));

export const preprocessTextureCases: KernelCase[] = TEXTURE_SCENES.map(({ s, i }) => ({
  name: `preprocess_texture ${s.name} ${s.layout} n=${s.n}/${s.batch}`,
  kernel: 'preprocess_texture',
  tags: s.tags,
  async run(lib) {
    const rgba = randomImage(s.w, s.h, 4000 + i);
    const { launch: viaBuffer, ref, outH, outW } = plan(s, rgba);
    const launch = plan(s, rgba, 'texture').launch;
    const y = await dispatchTexture(lib, launch, rgba, s.w, s.h);
    const { y: yBuffer } = await dispatchOnce(lib, {
      kernel: viaBuffer.kernel,
      overrides: viaBuffer.overrides,
      uniforms: viaBuffer.uniforms,
      buffers: { src: new Uint32Array(rgba.buffer), y: viaBuffer.outputFloats * 4 },
      read: ['y'],
    });
    return [
      ...compareBatch(s, y, expected(s, ref, launch.outputFloats, outH, outW), outH, outW, s.name),
      compare(y, Float64Array.from(yBuffer!), TOL.exact, 'the buffer kernel on the same pixels'),
    ];
  },
}));
