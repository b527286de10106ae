// dwconv: depthwise k×k convolution + bias (BatchNorm folded) + SiLU, optionally emitting the SE squeeze
// partial sums of the activated output in the same pass:
//   y[n, oh, ow, c] = silu( b[c] + Σ_{kh,kw} x[n, oh·S + kh - padTop, ow·S + kw - padLeft, c] · w[kh, kw, c] )
// with input coordinates outside the map reading 0, so torchvision's symmetric k//2 padding and
// TensorFlow SAME (the odd extra row/column at the bottom/right) are both just a padTop/padLeft and an
// output size chosen by the host.
// Layouts (vec4 = 4 channels, C4 = ceil(C/4), padding channels 0):
//   x    [N, H, W, C4] vec4 (NHWC4)
//   w    [K, K, C4] vec4: w[(kh·K + kw)·C4 + c4] = weight[channels 4·c4 .. 4·c4+3][kh][kw], padding lanes 0
//   b    [C4] vec4, padding lanes 0
//   y    [N, Ho, Wo, C4] vec4 (NHWC4); padding channels get silu(0 + 0) = 0
//   part [N, P, C4] vec4 with P = rowBlocks·strips partial slots per image (SQUEEZE only): slot
//        (rb, strip) holds Σ y over output rows rb·rows .. rb·rows+rows-1 and columns strip·TW .. +TW-1.
//        The slots of an image add up to Σ_{oh,ow} y, the SE squeeze sum; each slot is written by exactly
//        one invocation, so the sum is deterministic without float atomics. Unbound (dummy) otherwise.
// One invocation: one vec4 of channels for `rows` output rows, each a strip of TW output pixels along W,
// as TW named vec4 accumulators. Per kernel row and phase p < S it keeps a window of TW named input
// vec4s r_t = x[.., S·t + kw, ..] and slides it by one tap (kw += S) with a single new load, so each input
// column of the strip is loaded once per kernel row (S = 2 splits the taps into even and odd phases,
// each a stride-1 walk over every other column).
// Invocations walk the channel vec4s fastest (neighbours read adjacent 16-byte vectors), then strips,
// row blocks and images: the linear invocation index is the partial slot index ((n·rowBlocks + rb)·strips
// + strip)·C4 + c4.
// Dispatch: ceil(count / WG) workgroups (linear, see lib/grid.wgsl), count = N·rowBlocks·strips·C4.
//!include lib/act.wgsl
//!include lib/grid.wgsl

struct Params {
  H: u32,
  W: u32,
  C4: u32,
  Ho: u32,
  Wo: u32,
  padTop: u32,
  padLeft: u32,
  strips: u32,
  rows: u32,
  rowBlocks: u32,
  count: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> part: array<vec4<f32>>;

override K: u32 = 3;
override S: u32 = 1;
override TW: u32 = 4;
override WG: u32 = 64;
override SQUEEZE: bool = false;

struct Strip { p0: vec4<f32>, p1: vec4<f32>, p2: vec4<f32>, p3: vec4<f32>, p4: vec4<f32>, p5: vec4<f32>, p6: vec4<f32>, p7: vec4<f32>, p8: vec4<f32>, p9: vec4<f32>, p10: vec4<f32>, p11: vec4<f32>, p12: vec4<f32>, p13: vec4<f32>, p14: vec4<f32>, p15: vec4<f32> }

fn tap(row: u32, iw: i32) -> vec4<f32> {
  let W = i32(params.W);
  let v = x[row + u32(clamp(iw, 0, W - 1)) * params.C4];
  return select(vec4<f32>(0.0), v, iw >= 0 && iw < W);
}

fn window(row: u32, col: i32, step: i32) -> Strip {
  var s: Strip;
  { s.p0 = tap(row, col + 0 * step); }
  { s.p1 = tap(row, col + 1 * step); }
  { s.p2 = tap(row, col + 2 * step); }
  { s.p3 = tap(row, col + 3 * step); }
  if (TW > 4u) { s.p4 = tap(row, col + 4 * step); }
  if (TW > 5u) { s.p5 = tap(row, col + 5 * step); }
  if (TW > 6u) { s.p6 = tap(row, col + 6 * step); }
  if (TW > 7u) { s.p7 = tap(row, col + 7 * step); }
  if (TW > 8u) { s.p8 = tap(row, col + 8 * step); }
  if (TW > 9u) { s.p9 = tap(row, col + 9 * step); }
  if (TW > 10u) { s.p10 = tap(row, col + 10 * step); }
  if (TW > 11u) { s.p11 = tap(row, col + 11 * step); }
  if (TW > 12u) { s.p12 = tap(row, col + 12 * step); }
  if (TW > 13u) { s.p13 = tap(row, col + 13 * step); }
  if (TW > 14u) { s.p14 = tap(row, col + 14 * step); }
  if (TW > 15u) { s.p15 = tap(row, col + 15 * step); }
  return s;
}

fn slide(s: Strip, next: vec4<f32>) -> Strip {
  var r = s;
  if (TW > 1u) { r.p0 = s.p1; }
  if (TW > 2u) { r.p1 = s.p2; }
  if (TW > 3u) { r.p2 = s.p3; }
  if (TW > 4u) { r.p3 = s.p4; }
  if (TW > 5u) { r.p4 = s.p5; }
  if (TW > 6u) { r.p5 = s.p6; }
  if (TW > 7u) { r.p6 = s.p7; }
  if (TW > 8u) { r.p7 = s.p8; }
  if (TW > 9u) { r.p8 = s.p9; }
  if (TW > 10u) { r.p9 = s.p10; }
  if (TW > 11u) { r.p10 = s.p11; }
  if (TW > 12u) { r.p11 = s.p12; }
  if (TW > 13u) { r.p12 = s.p13; }
  if (TW > 14u) { r.p13 = s.p14; }
  if (TW > 15u) { r.p14 = s.p15; }
  if (TW == 4u) { r.p3 = next; }
  if (TW == 8u) { r.p7 = next; }
  if (TW == 16u) { r.p15 = next; }
  return r;
}

fn madd(acc: Strip, s: Strip, wv: vec4<f32>) -> Strip {
  var a = acc;
  { a.p0 += s.p0 * wv; }
  { a.p1 += s.p1 * wv; }
  { a.p2 += s.p2 * wv; }
  { a.p3 += s.p3 * wv; }
  if (TW > 4u) { a.p4 += s.p4 * wv; }
  if (TW > 5u) { a.p5 += s.p5 * wv; }
  if (TW > 6u) { a.p6 += s.p6 * wv; }
  if (TW > 7u) { a.p7 += s.p7 * wv; }
  if (TW > 8u) { a.p8 += s.p8 * wv; }
  if (TW > 9u) { a.p9 += s.p9 * wv; }
  if (TW > 10u) { a.p10 += s.p10 * wv; }
  if (TW > 11u) { a.p11 += s.p11 * wv; }
  if (TW > 12u) { a.p12 += s.p12 * wv; }
  if (TW > 13u) { a.p13 += s.p13 * wv; }
  if (TW > 14u) { a.p14 += s.p14 * wv; }
  if (TW > 15u) { a.p15 += s.p15 * wv; }
  return a;
}

// Taps kw = P, P + S, P + 2S, ... of one kernel row (P = 0, and P = 1 at stride 2).
fn phase_even(acc: Strip, row: u32, col: i32, wrow: u32) -> Strip {
  let step = i32(S);
  let ws = S * params.C4;
  let last = col + step * i32(TW - 1u);
  var s = window(row, col, step);
  var a = madd(acc, s, w[wrow]);
  if (S * 1u < K) { s = slide(s, tap(row, last + step)); a = madd(a, s, w[wrow + ws]); }
  if (S * 2u < K) { s = slide(s, tap(row, last + 2 * step)); a = madd(a, s, w[wrow + 2u * ws]); }
  if (S * 3u < K) { s = slide(s, tap(row, last + 3 * step)); a = madd(a, s, w[wrow + 3u * ws]); }
  if (S * 4u < K) { s = slide(s, tap(row, last + 4 * step)); a = madd(a, s, w[wrow + 4u * ws]); }
  if (S * 5u < K) { s = slide(s, tap(row, last + 5 * step)); a = madd(a, s, w[wrow + 5u * ws]); }
  if (S * 6u < K) { s = slide(s, tap(row, last + 6 * step)); a = madd(a, s, w[wrow + 6u * ws]); }
  return a;
}

fn phase_odd(acc: Strip, row: u32, col: i32, wrow: u32) -> Strip {
  let last = col + 2 * i32(TW - 1u);
  let ws = 2u * params.C4;
  let w0 = wrow + params.C4;
  var s = window(row, col, 2);
  var a = madd(acc, s, w[w0]);
  if (3u < K) { s = slide(s, tap(row, last + 2)); a = madd(a, s, w[w0 + ws]); }
  if (5u < K) { s = slide(s, tap(row, last + 4)); a = madd(a, s, w[w0 + 2u * ws]); }
  return a;
}

fn krow(acc: Strip, n: u32, ih0: i32, kh: u32, c4: u32, iw0: i32) -> Strip {
  let ih = ih0 + i32(kh);
  if (ih < 0 || ih >= i32(params.H)) { return acc; }
  let row = (n * params.H + u32(ih)) * params.W * params.C4 + c4;
  let wrow = kh * K * params.C4 + c4;
  var a = phase_even(acc, row, iw0, wrow);
  if (S == 2u && K > 1u) { a = phase_odd(a, row, iw0 + 1, wrow); }
  return a;
}

fn emit(acc: vec4<f32>, i: u32, inside: bool) -> vec4<f32> {
  if (!inside) { return vec4<f32>(0.0); }
  let v = silu4(acc);
  y[i] = v;
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup(wid, nwg) * WG + lid;
  if (i >= params.count) { return; }
  let C4 = params.C4;
  let c4 = i % C4;
  let strip_index = i / C4;
  let strip = strip_index % params.strips;
  let row_block = strip_index / params.strips;
  let rb = row_block % params.rowBlocks;
  let n = row_block / params.rowBlocks;

  let ow0 = strip * TW;
  let iw0 = i32(ow0 * S) - i32(params.padLeft);
  let bias = b[c4];
  let oh0 = rb * params.rows;
  let oh1 = min(oh0 + params.rows, params.Ho);
  var sq = vec4<f32>(0.0);

  for (var oh = oh0; oh < oh1; oh++) {
    let ih0 = i32(oh * S) - i32(params.padTop);
    var a = Strip(bias, bias, bias, bias, bias, bias, bias, bias, bias, bias, bias, bias, bias, bias, bias, bias);
    a = krow(a, n, ih0, 0u, c4, iw0);
    if (K > 1u) { a = krow(a, n, ih0, 1u, c4, iw0); }
    if (K > 2u) { a = krow(a, n, ih0, 2u, c4, iw0); }
    if (K > 3u) { a = krow(a, n, ih0, 3u, c4, iw0); }
    if (K > 4u) { a = krow(a, n, ih0, 4u, c4, iw0); }
    if (K > 5u) { a = krow(a, n, ih0, 5u, c4, iw0); }
    if (K > 6u) { a = krow(a, n, ih0, 6u, c4, iw0); }
    let o = ((n * params.Ho + oh) * params.Wo + ow0) * C4 + c4;
    let Wo = params.Wo;
    { sq += emit(a.p0, o + 0u * C4, ow0 + 0u < Wo); }
    { sq += emit(a.p1, o + 1u * C4, ow0 + 1u < Wo); }
    { sq += emit(a.p2, o + 2u * C4, ow0 + 2u < Wo); }
    { sq += emit(a.p3, o + 3u * C4, ow0 + 3u < Wo); }
    if (TW > 4u) { sq += emit(a.p4, o + 4u * C4, ow0 + 4u < Wo); }
    if (TW > 5u) { sq += emit(a.p5, o + 5u * C4, ow0 + 5u < Wo); }
    if (TW > 6u) { sq += emit(a.p6, o + 6u * C4, ow0 + 6u < Wo); }
    if (TW > 7u) { sq += emit(a.p7, o + 7u * C4, ow0 + 7u < Wo); }
    if (TW > 8u) { sq += emit(a.p8, o + 8u * C4, ow0 + 8u < Wo); }
    if (TW > 9u) { sq += emit(a.p9, o + 9u * C4, ow0 + 9u < Wo); }
    if (TW > 10u) { sq += emit(a.p10, o + 10u * C4, ow0 + 10u < Wo); }
    if (TW > 11u) { sq += emit(a.p11, o + 11u * C4, ow0 + 11u < Wo); }
    if (TW > 12u) { sq += emit(a.p12, o + 12u * C4, ow0 + 12u < Wo); }
    if (TW > 13u) { sq += emit(a.p13, o + 13u * C4, ow0 + 13u < Wo); }
    if (TW > 14u) { sq += emit(a.p14, o + 14u * C4, ow0 + 14u < Wo); }
    if (TW > 15u) { sq += emit(a.p15, o + 15u * C4, ow0 + 15u < Wo); }
  }
  if (SQUEEZE) { part[i] = sq; }
}
