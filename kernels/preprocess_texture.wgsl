// preprocess_texture: one browser image (ImageBitmap, canvas, video frame, …) copied by the host into an
// rgba8unorm texture with copyExternalImageToTexture → image n of the network's float32 input batch: crop,
// resize, normalise, exactly as kernels/preprocess.wgsl does from an RGBA8 storage buffer (same Params, modes,
// tap windows and output strides; the resampling and the entry point are both kernels' lib/preprocess.wgsl):
//   y[n, c, oy, ox] = R_c(ox, oy) / 255 · scale[c] + shift[c]      (c = R, G, B; alpha is dropped)
// Layouts: src is a texture_2d<f32> of an rgba8unorm texture, texel (x, y) = pixel x of row y from the top, as
//   the browser copied it (unpremultiplied, no flip); textureLoad reads it, never a sampler, and the byte it
//   holds is recovered as round(v·255), so the resamplers see the very integers the buffer kernel unpacks and
//   the two kernels agree bit for bit on the same pixels. srcW is not read (the texture has its size).
//   y is a dense float32 batch read through element strides (sN, sC, sH, sW), NHWC or NCHW; only image n is written.
// One invocation: one output pixel, all three channels. Invocations run along a row, then down the rows.
// A linear workgroup index (see lib/grid.wgsl); the filter's weighted RGB sum and its weight total:
// Dispatch: ceil(outH * outW / WG)
// Accumulators: 5
// Longest dependent chain one invocation walks: the resampling window, at most radius 2 stretched by the downscale.
// Serial: (4 * max(stepY, 1) + 1) * (4 * max(stepX, 1) + 1)
//!include lib/grid.wgsl
//!include lib/preprocess.wgsl

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var src: texture_2d<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// A pixel's R, G, B, A bytes as 0..255 floats. An 8-bit unorm texel reads as byte/255 rounded to f32, which
// times 255 lands within an ulp of the byte; round() makes it the byte exactly.
fn texel(ix: i32, iy: i32) -> vec4<f32> {
  return round(textureLoad(src, vec2<i32>(ix, iy), 0) * 255.0);
}
