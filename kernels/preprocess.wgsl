// preprocess: one decoded RGBA8 image → image n of the network's float32 input batch: crop, resize, normalise.
//   y[n, c, oy, ox] = R_c(ox, oy) / 255 · scale[c] + shift[c]      (c = R, G, B; alpha is dropped)
// where R resamples the source rectangle (x0, y0, cw, ch) — floats allowed — onto outH × outW, with
// stepX = cw / outW, stepY = ch / outH, in source-pixel units (pixel i has its centre at i + ½ in the
// half-pixel modes):
//   MODE 0: bilinear as tf.image.resizeBilinear (align_corners = false, half_pixel_centers = false):
//           s = x0 + ox·stepX; taps floor(s) and floor(s) + 1, clamped to the tap window.
//   MODE 1: bilinear with half-pixel centres (PyTorch, PIL): s = x0 + (ox + ½)·stepX − ½, taps clamped.
//   MODE 2: bicubic, Keys a = −0.75 (PyTorch), half-pixel: taps floor(s) − 1 .. floor(s) + 2, clamped.
//   ANTIALIAS (MODE 1 or 2; PyTorch antialias=True / PIL resampling): the filter (triangle, or Keys with
//           a = −0.5 as both PyTorch and PIL use in this path) is stretched by max(step, 1) around the
//           centre c = x0 + (ox + ½)·step, so a downscale averages every pixel it covers; taps outside the
//           window are dropped and the weights renormalised (not clamped), as PyTorch does.
// The tap window [loX, hiX] × [loY, hiY] (inclusive pixel indices) is the crop's own pixels for
// "slice, then resize" semantics (what the TF.js reference does) or the whole image for "resize the whole
// image, then crop" semantics (torchvision's Resize + CenterCrop); the host chooses.
// Layouts: src is the image as decoded, row-major, one u32 per pixel holding the bytes R, G, B, A from the
//   lowest byte up (an RGBA8 byte buffer viewed as u32 on a little-endian host, which every WebGPU host is).
//   y is a dense float32 batch read through element strides (sN, sC, sH, sW): NHWC (3HW, 1, 3W, 3) or
//   NCHW (3HW, HW, W, 1), whichever the stem reads; only image n is written.
// One invocation: one output pixel, all three channels. Invocations run along a row, then down the rows.
// A linear workgroup index (see lib/grid.wgsl); the filter's weighted RGB sum and its weight total:
// Dispatch: ceil(outH * outW / WG)
// Accumulators: 5
// Longest dependent chain one invocation walks: the resampling window, at most radius 2 stretched by the downscale.
// Serial: (4 * max(stepY, 1) + 1) * (4 * max(stepX, 1) + 1)
// Params, the overrides, the resamplers and `main` are lib/preprocess.wgsl, shared with preprocess_texture.wgsl
// (the same front end reading a texture): this file adds the bindings and how a pixel is read from `src`.
//!include lib/grid.wgsl
//!include lib/preprocess.wgsl

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// A pixel's R, G, B, A bytes as 0..255 floats; the interpolation runs in byte units and the division by 255
// happens once at the end (resampling is linear, so it commutes with the scaling).
fn texel(ix: i32, iy: i32) -> vec4<f32> {
  let p = src[u32(iy) * params.srcW + u32(ix)];
  return vec4<f32>(vec4<u32>(p, p >> 8u, p >> 16u, p >> 24u) & vec4<u32>(255u));
}
