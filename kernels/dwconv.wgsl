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
// One invocation: one vec4 of channels, `rows` consecutive output rows, and in each a strip of TW output
// pixels along W held as TW named vec4 accumulators (struct Strip). Its K·K weights are loaded once into
// named registers (struct Taps per kernel row). It walks the input rows its output rows need once each (row
// reuse): R = ceil(K/S) output rows are in flight (struct Pending), and each input row is loaded once and
// accumulated into every one of them that uses it, each with its own kernel row — so an input row is read
// once per strip, not K/S times. Per input row and phase it keeps a window of TW input vec4s, window[t] =
// x[.., S·t + kw, ..], and slides it by one tap (kw += S) with a single new load, so each input column of the
// strip is loaded once per input row; stride 2 splits the taps into an even and an odd phase, each a stride-1
// walk over every other column. After its S input rows of a step, the oldest pending row is complete: stored,
// added to the squeeze slot, and the rows shift up.
// The tap, kernel-row and pending-row sequences are unrolled up to K = 7 behind guards on K, S and TW, which
// are constant once the overrides are set and fold away: SwiftShader runs loop bookkeeping and both sides of a
// runtime branch at full cost (kernels/README.md), so the only runtime loop is the walk over input rows.
// Invocations walk the channel vec4s fastest (neighbours read adjacent 16-byte vectors), then strips,
// row blocks and images: the linear invocation index is the partial slot index ((n·rowBlocks + rb)·strips
// + strip)·C4 + c4.
// count = N·rowBlocks·strips·C4 (a linear workgroup index, see lib/grid.wgsl); TW accumulators per pending row:
// Dispatch: ceil(count / WG)
// Accumulators: 4 * TW * ceil(K / S)
// Longest dependent chain one invocation walks: its rows plus the R − 1 it starts early, S input rows each, K taps per row.
// Serial: (rows + ceil(K / S) - 1) * S * K
// The strip width and rows per invocation also decide the squeeze's partial slots, which se_excite reads, so
// a tuning may only choose the workgroup size (src/kernels/tile-space.ts):
// Tile: WG 1..256
//!include lib/act.wgsl
//!include lib/grid.wgsl
//!include lib/dwconv_io.wgsl

struct Params {
  H: u32,
  W: u32,
  C4: u32,
  Ho: u32,
  Wo: u32,
  padTop: u32,
  padLeft: u32,
  // ceil(Wo / TW) strips per output row.
  strips: u32,
  // Output rows per invocation, and ceil(Ho / rows) row blocks per image.
  rows: u32,
  rowBlocks: u32,
  count: u32,
}


// Kernel size (odd, ≤ 7) and stride (1 or 2).
override K: u32 = 3;
override S: u32 = 1;
// Output pixels per strip: 2 or 4.
override TW: u32 = 4;
override WG: u32 = 64;
override SQUEEZE: bool = false;

// TW ≤ 4 pixels of one output row (accumulators) or their current input columns (the window); the
// fields past TW are never read.
struct Strip { p0: vec4<f32>, p1: vec4<f32>, p2: vec4<f32>, p3: vec4<f32> }

// The weights of one kernel row, tap kw in field t<kw>; all K rows, kernel row kh in field k<kh>.
struct Taps { t0: vec4<f32>, t1: vec4<f32>, t2: vec4<f32>, t3: vec4<f32>, t4: vec4<f32>, t5: vec4<f32>, t6: vec4<f32> }
struct Weights { k0: Taps, k1: Taps, k2: Taps, k3: Taps, k4: Taps, k5: Taps, k6: Taps }

// The output rows in flight: a0 completes at the end of this step, a<m> m steps later. Only the first
// ceil(K/S) are ever fed; the rest stay at the bias they start with.
struct Pending { a0: Strip, a1: Strip, a2: Strip, a3: Strip, a4: Strip, a5: Strip, a6: Strip }

fn kernel_row(ws: Weights, kh: u32) -> Taps {
  switch kh {
    case 0u: { return ws.k0; }
    case 1u: { return ws.k1; }
    case 2u: { return ws.k2; }
    case 3u: { return ws.k3; }
    case 4u: { return ws.k4; }
    case 5u: { return ws.k5; }
    default: { return ws.k6; }
  }
}

fn tap_weight(t: Taps, kw: u32) -> vec4<f32> {
  switch kw {
    case 0u: { return t.t0; }
    case 1u: { return t.t1; }
    case 2u: { return t.t2; }
    case 3u: { return t.t3; }
    case 4u: { return t.t4; }
    case 5u: { return t.t5; }
    default: { return t.t6; }
  }
}

// Input vec4 at column iw of the row whose column 0 is vec4 `row`; 0 outside the map. The clamped address
// is always loaded and the select discards it: cheaper than a branch, which SwiftShader would run anyway.
fn tap(row: u32, iw: i32) -> vec4<f32> {
  let W = i32(params.W);
  let v = x[row + u32(clamp(iw, 0, W - 1)) * params.C4];
  return select(vec4<f32>(0.0), v, iw >= 0 && iw < W);
}

// The window for the first tap of a phase: pixel t reads column col + step·t.
fn window(row: u32, col: i32, step: i32) -> Strip {
  var s: Strip;
  s.p0 = tap(row, col); s.p1 = tap(row, col + step);
  if (TW > 2u) { s.p2 = tap(row, col + 2 * step); s.p3 = tap(row, col + 3 * step); }
  return s;
}

// Next tap of the phase: every pixel moves on by S input columns, which is where its right neighbour
// was, so the window shifts down by one and only the last pixel's column (`next`) is new.
fn slide(s: Strip, next: vec4<f32>) -> Strip {
  if (TW == 4u) { return Strip(s.p1, s.p2, s.p3, next); }
  return Strip(s.p1, next, s.p2, s.p3);
}

fn madd(acc: Strip, s: Strip, wv: vec4<f32>) -> Strip {
  var a = acc;
  a.p0 += s.p0 * wv; a.p1 += s.p1 * wv;
  if (TW > 2u) { a.p2 += s.p2 * wv; a.p3 += s.p3 * wv; }
  return a;
}

// Window `s` (tap kw of one input row) into every pending row that uses that input row: row a<m> takes it
// as kernel row kh0 − S·m, where that is ≥ 0 (kh0: the kernel row of a0, the row completing this step).
fn feed(p: Pending, s: Strip, ws: Weights, kh0: u32, kw: u32) -> Pending {
  var q = p;
  q.a0 = madd(q.a0, s, tap_weight(kernel_row(ws, kh0), kw));
  if (kh0 >= S) { q.a1 = madd(q.a1, s, tap_weight(kernel_row(ws, kh0 - S), kw)); }
  if (kh0 >= 2u * S) { q.a2 = madd(q.a2, s, tap_weight(kernel_row(ws, kh0 - 2u * S), kw)); }
  if (kh0 >= 3u * S) { q.a3 = madd(q.a3, s, tap_weight(kernel_row(ws, kh0 - 3u * S), kw)); }
  if (kh0 >= 4u * S) { q.a4 = madd(q.a4, s, tap_weight(kernel_row(ws, kh0 - 4u * S), kw)); }
  if (kh0 >= 5u * S) { q.a5 = madd(q.a5, s, tap_weight(kernel_row(ws, kh0 - 5u * S), kw)); }
  if (kh0 >= 6u * S) { q.a6 = madd(q.a6, s, tap_weight(kernel_row(ws, kh0 - 6u * S), kw)); }
  return q;
}

// Kernel row whose tap 0 is vec4 `at` of w (taps are C4 vec4s apart).
fn load_taps(at: u32) -> Taps {
  let C4 = params.C4;
  var r: Taps;
  r.t0 = w[at];
  if (K > 1u) { r.t1 = w[at + C4]; }
  if (K > 2u) { r.t2 = w[at + 2u * C4]; }
  if (K > 3u) { r.t3 = w[at + 3u * C4]; }
  if (K > 4u) { r.t4 = w[at + 4u * C4]; }
  if (K > 5u) { r.t5 = w[at + 5u * C4]; }
  if (K > 6u) { r.t6 = w[at + 6u * C4]; }
  return r;
}

// Taps kw = 0, S, 2S, ... of one input row; `col` is the input column of pixel 0 at kw = 0.
fn phase_even(p: Pending, row: u32, col: i32, ws: Weights, kh0: u32) -> Pending {
  let step = i32(S);
  let last = col + step * i32(TW - 1u);
  var s = window(row, col, step);
  var q = feed(p, s, ws, kh0, 0u);
  if (S == 1u) {
    if (K > 1u) { s = slide(s, tap(row, last + 1)); q = feed(q, s, ws, kh0, 1u); }
    if (K > 2u) { s = slide(s, tap(row, last + 2)); q = feed(q, s, ws, kh0, 2u); }
    if (K > 3u) { s = slide(s, tap(row, last + 3)); q = feed(q, s, ws, kh0, 3u); }
    if (K > 4u) { s = slide(s, tap(row, last + 4)); q = feed(q, s, ws, kh0, 4u); }
    if (K > 5u) { s = slide(s, tap(row, last + 5)); q = feed(q, s, ws, kh0, 5u); }
    if (K > 6u) { s = slide(s, tap(row, last + 6)); q = feed(q, s, ws, kh0, 6u); }
  } else {
    if (K > 2u) { s = slide(s, tap(row, last + 2)); q = feed(q, s, ws, kh0, 2u); }
    if (K > 4u) { s = slide(s, tap(row, last + 4)); q = feed(q, s, ws, kh0, 4u); }
    if (K > 6u) { s = slide(s, tap(row, last + 6)); q = feed(q, s, ws, kh0, 6u); }
  }
  return q;
}

// Stride 2 only: taps kw = 1, 3, 5; `col` is the input column of pixel 0 at kw = 1.
fn phase_odd(p: Pending, row: u32, col: i32, ws: Weights, kh0: u32) -> Pending {
  let last = col + 2 * i32(TW - 1u);
  var s = window(row, col, 2);
  var q = feed(p, s, ws, kh0, 1u);
  if (K > 3u) { s = slide(s, tap(row, last + 2)); q = feed(q, s, ws, kh0, 3u); }
  if (K > 5u) { s = slide(s, tap(row, last + 4)); q = feed(q, s, ws, kh0, 5u); }
  return q;
}

// Input row ih (nothing outside the map) into the pending rows; a0 takes it as kernel row kh0.
fn input_row(p: Pending, n: u32, ih: i32, c4: u32, iw0: i32, ws: Weights, kh0: u32) -> Pending {
  if (ih < 0 || ih >= i32(params.H)) { return p; }
  let row = (n * params.H + u32(ih)) * params.W * params.C4 + c4;
  var q = phase_even(p, row, iw0, ws, kh0);
  if (S == 2u && K > 1u) { q = phase_odd(q, row, iw0 + 1, ws, kh0); }
  return q;
}

// The activated output of one strip pixel, stored when the pixel is inside the map; returns what it
// adds to the squeeze sum (0 for the pixels of a ragged last strip that lie past Wo).
fn emit(acc: vec4<f32>, i: u32, inside: bool) -> vec4<f32> {
  if (!inside) { return vec4<f32>(0.0); }
  let v = silu4(acc);
  y[i] = v;
  return v;
}

// a0 is done: every pending row moves up one, and a fresh row (the bias) joins as the last of the R in flight.
// Only those R move: copying all seven would cost SwiftShader as much as the rest of the walk (measured).
fn retire(p: ptr<function, Pending>, fresh: Strip) {
  let last = (K + S - 1u) / S - 1u;
  if (last > 0u) { (*p).a0 = (*p).a1; }
  if (last > 1u) { (*p).a1 = (*p).a2; }
  if (last > 2u) { (*p).a2 = (*p).a3; }
  if (last > 3u) { (*p).a3 = (*p).a4; }
  if (last > 4u) { (*p).a4 = (*p).a5; }
  if (last > 5u) { (*p).a5 = (*p).a6; }
  switch last {
    case 0u: { (*p).a0 = fresh; }
    case 1u: { (*p).a1 = fresh; }
    case 2u: { (*p).a2 = fresh; }
    case 3u: { (*p).a3 = fresh; }
    case 4u: { (*p).a4 = fresh; }
    case 5u: { (*p).a5 = fresh; }
    default: { (*p).a6 = fresh; }
  }
}

// A completed output row of the strip from ow0: stored, and its squeeze contribution.
fn emit_row(a: Strip, n: u32, oh: u32, ow0: u32, c4: u32) -> vec4<f32> {
  let C4 = params.C4;
  let Wo = params.Wo;
  let o = ((n * params.Ho + oh) * Wo + ow0) * C4 + c4;
  var sq = emit(a.p0, o, ow0 < Wo) + emit(a.p1, o + C4, ow0 + 1u < Wo);
  if (TW > 2u) { sq += emit(a.p2, o + 2u * C4, ow0 + 2u < Wo) + emit(a.p3, o + 3u * C4, ow0 + 3u < Wo); }
  return sq;
}

@compute @workgroup_size(WG)
fn main(inv: Invocation) {
  let i = linear_invocation(inv, WG);
  if (i >= params.count) { return; }
  let C4 = params.C4;
  let slot = dw_slot(i);
  let c4 = slot.c4;
  let n = slot.n;

  let kr = K * C4;
  var ws: Weights;
  ws.k0 = load_taps(c4);
  if (K > 1u) { ws.k1 = load_taps(c4 + kr); }
  if (K > 2u) { ws.k2 = load_taps(c4 + 2u * kr); }
  if (K > 3u) { ws.k3 = load_taps(c4 + 3u * kr); }
  if (K > 4u) { ws.k4 = load_taps(c4 + 4u * kr); }
  if (K > 5u) { ws.k5 = load_taps(c4 + 5u * kr); }
  if (K > 6u) { ws.k6 = load_taps(c4 + 6u * kr); }
  let bias = b[c4];
  let fresh = Strip(bias, bias, bias, bias);

  let ow0 = slot.strip * TW;
  let iw0 = i32(ow0 * S) - i32(params.padLeft);
  let oh0 = slot.rb * params.rows;
  let oh1 = min(oh0 + params.rows, params.Ho);
  // The walk starts R − 1 output rows early, so that oh0 has taken its first input row when it is a<R−1>.
  let late = (K + S - 1u) / S - 1u;
  var p = Pending(fresh, fresh, fresh, fresh, fresh, fresh, fresh);
  var sq = vec4<f32>(0.0);
  for (var oc = i32(oh0) - i32(late); oc < i32(oh1); oc++) {
    // a0 is output row oc; its last S input rows (kernel rows K − S .. K − 1) arrive now.
    let ih = oc * i32(S) - i32(params.padTop) + i32(K - S);
    p = input_row(p, n, ih, c4, iw0, ws, K - S);
    if (S == 2u) { p = input_row(p, n, ih + 1, c4, iw0, ws, K - 1u); }
    if (oc >= i32(oh0)) { sq += emit_row(p.a0, n, u32(oc), ow0, c4); }
    retire(&p, fresh);
  }
  if (SQUEEZE) { part[i] = sq; }
}
