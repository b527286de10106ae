// fused_conv: the Fused-MBConv k×k convolution as an implicit GEMM,
//   y[n, oh, ow, co] = act(b[co] + Σ_{kh, kw, ci} x[n, oh·s + kh − padTop, ow·s + kw − padLeft, ci]
//                                                 · w[co, ci, kh, kw])  (+ res[n, oh, ow, co] when HAS_RES)
// i.e. a GEMM of N·Ho·Wo output pixels × Cout columns over k·k·Cin4·4 terms. Input taps outside the map read 0,
// so torchvision's symmetric k//2 and TensorFlow SAME (extra row/column at the bottom/right) are the same code
// with different padTop/padLeft and output size. The residual is added after the activation (torchvision's
// FusedMBConv with expand 1).
// Layouts: x [N, H, W, Cin4] vec4, y and res [N, Ho, Wo, Cout4] vec4 (NHWC, channels zero-padded to 4).
//   w: [k][k][Cin4][CoutP4] mat4x4, CoutP4 = Cout4 rounded up to a multiple of 4 (TN = 1, 2, 4, or 3 when it
//   divides Cout4, then reads in bounds); matrix (kh, kw, ci4, co4) has column j = the weights of input channel
//   4·ci4 + j for output channels 4·co4 .. 4·co4 + 3, so `m * xv` is the 16 multiply-adds of one input vec4
//   into one output vec4. Padded input/output channels have zero weights. b: [CoutP4] vec4, zero-padded.
// One invocation: TM consecutive output pixels of one row (ow0 .. ow0 + TM − 1) × TN consecutive output vec4s
//   (co4 .. co4 + TN − 1), in TM·TN named vec4 accumulators. Per (kh, kw) it works out each pixel's input offset
//   and a 0/1 mask once; the channel loop then loads each input vec4 once for all TN output groups and each
//   weight matrix once for all TM pixels. Invocations are ordered output-group fastest, then pixel tiles
//   along W, H, N, so neighbouring invocations share input pixels.
// A linear workgroup index (see lib/grid.wgsl); a TM × TN register tile of vec4s:
// Dispatch: ceil(N * Ho * ceil(Wo / TM) * ceil(Cout4 / TN) / WG)
// Accumulators: 4 * TM * TN
// Longest dependent chain one invocation walks: K·K taps × input vec4s into each accumulator.
// Serial: K * K * Cin4
//!include lib/grid.wgsl
//!include lib/conv_tile.wgsl
//!include lib/fused_conv_io.wgsl

override WG: u32 = 64;
// Output pixels per invocation, 1..16.
override TM: u32 = 4;
// Output vec4s per invocation, 1..4, with ceil(Cout4/TN)·TN ≤ CoutP4.
override TN: u32 = 4;

// One tap's weight matrices for the TN output vec4s (mat4x4: the reason Wt and mac are not in lib/conv_tile.wgsl).
struct Wt {
  m0: mat4x4<f32>,
  m1: mat4x4<f32>,
  m2: mat4x4<f32>,
  m3: mat4x4<f32>,
}

// Where one pixel's input row starts for the current (kh, kw), and 1 or 0 for an in-map or padding tap. A padding
// tap reads pixel 0 (always in bounds) and multiplies it by 0.
struct Tap {
  at: u32,
  keep: f32,
}

fn tap(rowStart: u32, iw: i32) -> Tap {
  let inside = iw >= 0 && iw < i32(params.W);
  return Tap(select(0u, (rowStart + u32(iw)) * params.Cin4, inside), select(0.0, 1.0, inside));
}

fn loadWt(at: u32) -> Wt {
  var r: Wt;
  r.m0 = w[at];
  if (TN > 1u) { r.m1 = w[at + 1u]; }
  if (TN > 2u) { r.m2 = w[at + 2u]; }
  if (TN > 3u) { r.m3 = w[at + 3u]; }
  return r;
}

fn mac(a: Px, v: vec4<f32>, m: Wt) -> Px {
  var r = a;
  r.c0 += m.m0 * v;
  if (TN > 1u) { r.c1 += m.m1 * v; }
  if (TN > 2u) { r.c2 += m.m2 * v; }
  if (TN > 3u) { r.c3 += m.m3 * v; }
  return r;
}

fn epilogue(acc: vec4<f32>, pix: u32, co4: u32) {
  if (co4 >= params.Cout4) { return; }
  finish_output(pix * params.Cout4 + co4, acc + b[co4]);
}

// The tile's sums over every tap; the entry point in lib/conv_tile.wgsl stores them through `epilogue`.
fn accumulate(tile: ConvTile) -> Tile {
  let n = tile.n;
  let oh = tile.oh;
  let ow0 = tile.ow0;
  let co4 = tile.co4;

  let K = params.K;
  let s = params.stride;
  let cin4 = params.Cin4;
  let coutP4 = cout_p4();
  var acc: Tile;
  var t0: Tap; var t1: Tap; var t2: Tap; var t3: Tap; var t4: Tap; var t5: Tap; var t6: Tap; var t7: Tap;
  var t8: Tap; var t9: Tap; var t10: Tap; var t11: Tap; var t12: Tap; var t13: Tap; var t14: Tap; var t15: Tap;

  for (var kh = 0u; kh < K; kh++) {
    // All TM pixels share the row, so a padding row is skipped whole.
    let ih = i32(oh * s + kh) - i32(params.padTop);
    if (ih < 0 || ih >= i32(params.H)) { continue; }
    let rowStart = (n * params.H + u32(ih)) * params.W;
    for (var kw = 0u; kw < K; kw++) {
      let iw0 = i32(ow0 * s + kw) - i32(params.padLeft);
      let si = i32(s);
      t0 = tap(rowStart, iw0);
      if (TM > 1u) { t1 = tap(rowStart, iw0 + si); }
      if (TM > 2u) { t2 = tap(rowStart, iw0 + 2 * si); }
      if (TM > 3u) { t3 = tap(rowStart, iw0 + 3 * si); }
      if (TM > 4u) { t4 = tap(rowStart, iw0 + 4 * si); }
      if (TM > 5u) { t5 = tap(rowStart, iw0 + 5 * si); }
      if (TM > 6u) { t6 = tap(rowStart, iw0 + 6 * si); }
      if (TM > 7u) { t7 = tap(rowStart, iw0 + 7 * si); }
      if (TM > 8u) { t8 = tap(rowStart, iw0 + 8 * si); }
      if (TM > 9u) { t9 = tap(rowStart, iw0 + 9 * si); }
      if (TM > 10u) { t10 = tap(rowStart, iw0 + 10 * si); }
      if (TM > 11u) { t11 = tap(rowStart, iw0 + 11 * si); }
      if (TM > 12u) { t12 = tap(rowStart, iw0 + 12 * si); }
      if (TM > 13u) { t13 = tap(rowStart, iw0 + 13 * si); }
      if (TM > 14u) { t14 = tap(rowStart, iw0 + 14 * si); }
      if (TM > 15u) { t15 = tap(rowStart, iw0 + 15 * si); }
      var wi = (kh * K + kw) * cin4 * coutP4 + co4;
      for (var ci = 0u; ci < cin4; ci++) {
        let m = loadWt(wi);
        wi += coutP4;
        acc.p0 = mac(acc.p0, x[t0.at + ci] * t0.keep, m);
        if (TM > 1u) { acc.p1 = mac(acc.p1, x[t1.at + ci] * t1.keep, m); }
        if (TM > 2u) { acc.p2 = mac(acc.p2, x[t2.at + ci] * t2.keep, m); }
        if (TM > 3u) { acc.p3 = mac(acc.p3, x[t3.at + ci] * t3.keep, m); }
        if (TM > 4u) { acc.p4 = mac(acc.p4, x[t4.at + ci] * t4.keep, m); }
        if (TM > 5u) { acc.p5 = mac(acc.p5, x[t5.at + ci] * t5.keep, m); }
        if (TM > 6u) { acc.p6 = mac(acc.p6, x[t6.at + ci] * t6.keep, m); }
        if (TM > 7u) { acc.p7 = mac(acc.p7, x[t7.at + ci] * t7.keep, m); }
        if (TM > 8u) { acc.p8 = mac(acc.p8, x[t8.at + ci] * t8.keep, m); }
        if (TM > 9u) { acc.p9 = mac(acc.p9, x[t9.at + ci] * t9.keep, m); }
        if (TM > 10u) { acc.p10 = mac(acc.p10, x[t10.at + ci] * t10.keep, m); }
        if (TM > 11u) { acc.p11 = mac(acc.p11, x[t11.at + ci] * t11.keep, m); }
        if (TM > 12u) { acc.p12 = mac(acc.p12, x[t12.at + ci] * t12.keep, m); }
        if (TM > 13u) { acc.p13 = mac(acc.p13, x[t13.at + ci] * t13.keep, m); }
        if (TM > 14u) { acc.p14 = mac(acc.p14, x[t14.at + ci] * t14.keep, m); }
        if (TM > 15u) { acc.p15 = mac(acc.p15, x[t15.at + ci] * t15.keep, m); }
      }
    }
  }

  return acc;
}
