// stem: the network's first conv, 3×3 stride 2 over the 3-channel input image, + bias + SiLU,
//   y[n, oh, ow, co] = silu(b[co] + Σ_{kh, kw, c} x[n, c, 2·oh + kh − padTop, 2·ow + kw − padLeft]
//                                                · w[co, c, kh, kw])
// Taps outside the image read 0, so torchvision's symmetric padding 1 and TensorFlow SAME (the extra row/column
// at the bottom/right on even sizes) differ only in padTop/padLeft and the output size.
// Layouts: x is the RAW network input, a dense float32 tensor read through element strides (sN, sC, sH, sW),
//   so NCHW (3HW, HW, W, 1) and NHWC (3HW, 1, 3W, 3) images, or any strided view, need no transpose pass.
//   y [N, Ho, Wo, Cout4] vec4 (NHWC, channels zero-padded to 4).
//   w: [3][3][CoutP4] mat3x4, CoutP4 = Cout4 rounded up to a multiple of 4 (TN = 1, 2, 4, or 3 when it divides
//   Cout4, then reads in bounds); matrix (kh, kw, co4) has column c = the weights of input channel c for output
//   channels 4·co4 .. 4·co4 + 3, so `m * rgb` is one tap for one output vec4. Padded output channels have zero
//   weights.
//   b: [CoutP4] vec4, zero-padded.
// inScale/inShift: a per-input-channel affine applied to in-image taps only (x·scale + shift), for weights whose
//   graph normalises the image itself (the TF-Hub B0 takes [0, 1] RGB and normalises before its SAME padding,
//   so padding must stay 0 in the normalised space — folding the affine into w would be wrong at the border).
// One invocation: TM consecutive output pixels of one row × TN consecutive output vec4s, in named accumulators.
//   Per tap it loads each pixel's 3 input values once for all TN output groups and each weight matrix once for
//   all TM pixels; a padding row is skipped for the whole tile. Invocations are ordered output group fastest,
//   then pixel tiles along W, H, N.
// A linear workgroup index (see lib/grid.wgsl); a TM × TN register tile of vec4s:
// Dispatch: ceil(N * Ho * ceil(Wo / TM) * ceil(Cout4 / TN) / WG)
// Accumulators: 4 * TM * TN
// Longest dependent chain one invocation walks: 3×3 taps × 3 input channels into each accumulator.
// Serial: 9 * 3
//!include lib/act.wgsl
//!include lib/grid.wgsl
//!include lib/conv_tile.wgsl

struct Params {
  N: u32,
  H: u32,
  W: u32,
  Ho: u32,
  Wo: u32,
  Cout4: u32,
  padTop: u32,
  padLeft: u32,
  sN: u32,
  sC: u32,
  sH: u32,
  sW: u32,
  inScale: vec4<f32>,
  inShift: vec4<f32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<mat3x4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<f32>>;

override WG: u32 = 64;
// Output pixels per invocation, 1..16.
override TM: u32 = 4;
// Output vec4s per invocation, 1..4, with ceil(Cout4/TN)·TN ≤ CoutP4.
override TN: u32 = 2;

// One tap's weight matrices for the TN output vec4s (mat3x4: the reason Wt and mac are not in lib/conv_tile.wgsl).
struct Wt {
  m0: mat3x4<f32>,
  m1: mat3x4<f32>,
  m2: mat3x4<f32>,
  m3: mat3x4<f32>,
}

// The 3 input channels of one tap, after the input affine; 0 outside the image (the padding of the normalised
// image). A padding tap loads element 0 (always in bounds) and selects 0: branch-free, so SwiftShader's SIMD lanes
// stay on one path (10–25% faster than returning early).
fn rgb(rowStart: u32, iw: i32) -> vec3<f32> {
  let inside = iw >= 0 && iw < i32(params.W);
  let at = select(0u, rowStart + u32(iw) * params.sW, inside);
  let v = vec3<f32>(x[at], x[at + params.sC], x[at + 2u * params.sC]) * params.inScale.xyz + params.inShift.xyz;
  return select(vec3<f32>(0.0), v, inside);
}

fn mac(a: Px, v: vec3<f32>, m: Wt) -> Px {
  var r = a;
  r.c0 += m.m0 * v;
  if (TN > 1u) { r.c1 += m.m1 * v; }
  if (TN > 2u) { r.c2 += m.m2 * v; }
  if (TN > 3u) { r.c3 += m.m3 * v; }
  return r;
}

fn epilogue(acc: vec4<f32>, pix: u32, co4: u32) {
  if (co4 >= params.Cout4) { return; }
  y[pix * params.Cout4 + co4] = silu4(acc + b[co4]);
}

// The tile's sums over every tap; the entry point in lib/conv_tile.wgsl stores them through `epilogue`.
fn accumulate(tile: ConvTile) -> Tile {
  let n = tile.n;
  let oh = tile.oh;
  let ow0 = tile.ow0;
  let co4 = tile.co4;

  let coutP4 = cout_p4();
  var acc: Tile;
  for (var kh = 0u; kh < 3u; kh++) {
    let ih = i32(2u * oh + kh) - i32(params.padTop);
    if (ih < 0 || ih >= i32(params.H)) { continue; }
    let rowStart = n * params.sN + u32(ih) * params.sH;
    for (var kw = 0u; kw < 3u; kw++) {
      let wi = (kh * 3u + kw) * coutP4 + co4;
      var m: Wt;
      m.m0 = w[wi];
      if (TN > 1u) { m.m1 = w[wi + 1u]; }
      if (TN > 2u) { m.m2 = w[wi + 2u]; }
      if (TN > 3u) { m.m3 = w[wi + 3u]; }
      let iw0 = i32(2u * ow0 + kw) - i32(params.padLeft);
      acc.p0 = mac(acc.p0, rgb(rowStart, iw0), m);
      if (TM > 1u) { acc.p1 = mac(acc.p1, rgb(rowStart, iw0 + 2), m); }
      if (TM > 2u) { acc.p2 = mac(acc.p2, rgb(rowStart, iw0 + 4), m); }
      if (TM > 3u) { acc.p3 = mac(acc.p3, rgb(rowStart, iw0 + 6), m); }
      if (TM > 4u) { acc.p4 = mac(acc.p4, rgb(rowStart, iw0 + 8), m); }
      if (TM > 5u) { acc.p5 = mac(acc.p5, rgb(rowStart, iw0 + 10), m); }
      if (TM > 6u) { acc.p6 = mac(acc.p6, rgb(rowStart, iw0 + 12), m); }
      if (TM > 7u) { acc.p7 = mac(acc.p7, rgb(rowStart, iw0 + 14), m); }
      if (TM > 8u) { acc.p8 = mac(acc.p8, rgb(rowStart, iw0 + 16), m); }
      if (TM > 9u) { acc.p9 = mac(acc.p9, rgb(rowStart, iw0 + 18), m); }
      if (TM > 10u) { acc.p10 = mac(acc.p10, rgb(rowStart, iw0 + 20), m); }
      if (TM > 11u) { acc.p11 = mac(acc.p11, rgb(rowStart, iw0 + 22), m); }
      if (TM > 12u) { acc.p12 = mac(acc.p12, rgb(rowStart, iw0 + 24), m); }
      if (TM > 13u) { acc.p13 = mac(acc.p13, rgb(rowStart, iw0 + 26), m); }
      if (TM > 14u) { acc.p14 = mac(acc.p14, rgb(rowStart, iw0 + 28), m); }
      if (TM > 15u) { acc.p15 = mac(acc.p15, rgb(rowStart, iw0 + 30), m); }
    }
  }

  return acc;
}
